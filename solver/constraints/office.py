"""Hard: a person is only placed at an office they can reach and are not excluded from."""
from __future__ import annotations

from solver.rules import office_allowed
from solver.schema import CohortOption, Demand, Problem


def allows_office(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: the cohort's office is reachable (empty = any) and not excluded (a pair rule)."""
    return office_allowed(demand, cohort.office_code)
