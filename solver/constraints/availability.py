"""Hard: a person is only placed on a cohort whose every weekly slot they can attend."""
from __future__ import annotations

from solver.rules import covers_slots
from solver.schema import CohortOption, Demand, Problem


def allows_availability(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: the person's availability (weekday × daytime/evening) covers every slot (a pair rule)."""
    return covers_slots(demand.availability, cohort)
