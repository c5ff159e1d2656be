"""Hard: intake is closed: nobody new joins a cohort that started before the plan date."""
from __future__ import annotations

from solver.schema import CohortOption, Demand, Problem


def allows_intake(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: cohort start date ≥ the plan's as-of date (a pair rule)."""
    return cohort.start_date >= problem.as_of
