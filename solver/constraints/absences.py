"""Hard: a facilitator with an absence during a cohort's run does not run it."""
from __future__ import annotations

from solver.rules import absent_during
from solver.schema import CohortOption, Facilitator, Problem


def allows_absences(facilitator: Facilitator, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: no recorded absence overlaps start date … end date (a staff rule)."""
    return not absent_during(facilitator, cohort.start_date, cohort.end_date)
