"""Hard: only facilitators trained in the programme, still in post when the cohort ends, can run it."""
from __future__ import annotations

from solver.schema import CohortOption, Facilitator, Problem


def allows_trained(facilitator: Facilitator, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: programme in the facilitator's training and not leaving before the last session (a staff rule)."""
    return cohort.programme_code in facilitator.programmes and (
        facilitator.active_until is None or facilitator.active_until >= cohort.end_date)
