"""Hard: a person only joins a cohort of their programme, pathway, offence cohort and LDC variant."""
from __future__ import annotations

from solver.rules import same_group
from solver.schema import CohortOption, Demand, Problem


def allows_programme(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: programme, pathway, offence cohort and LDC variant all match (a pair rule)."""
    return same_group(demand, cohort)
