"""Hard: a place counts only if the cohort's last session falls on or before the deadline less the margin."""
from __future__ import annotations

from solver.rules import finishes_in_time
from solver.schema import CohortOption, Demand, Problem


def allows_deadline(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: cohort end date ≤ deadline − deadline_margin_days (a pair rule)."""
    return finishes_in_time(demand, cohort, problem.params)
