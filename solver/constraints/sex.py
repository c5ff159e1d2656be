"""Hard: women join FEMALE or MIXED groups, men MALE or MIXED; unrecorded sex joins MIXED only."""
from __future__ import annotations

from solver.rules import sex_allowed
from solver.schema import CohortOption, Demand, Problem


def allows_sex(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: the group's sex rule admits the person (a pair rule)."""
    return sex_allowed(demand.sex, cohort.sex)
