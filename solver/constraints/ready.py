"""Hard: a cohort must start on or after the day the person is ready (assessed, not in custody…)."""
from __future__ import annotations

from solver.schema import CohortOption, Demand, Problem


def allows_ready(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: cohort start date ≥ the person's ready-from date (a pair rule)."""
    return cohort.start_date >= demand.ready_from
