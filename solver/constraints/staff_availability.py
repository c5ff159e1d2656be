"""Hard: a facilitator runs only cohorts at offices they reach, on slots they work."""
from __future__ import annotations

from solver.rules import covers_slots
from solver.schema import CohortOption, Facilitator, Problem


def allows_staff_availability(facilitator: Facilitator, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: office reachable (empty = any) and every weekly slot within their working pattern (a staff rule)."""
    return (not facilitator.offices or cohort.office_code in facilitator.offices) and covers_slots(
        facilitator.availability, cohort)
