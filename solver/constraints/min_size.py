"""Hard: a candidate cohort opens only with at least its minimum size (fixed members count)."""
from __future__ import annotations

from solver.build import Build
from solver.schema import CohortOption


def places_needed(cohort: CohortOption) -> int:
    """Places the plan must fill for the cohort to open (its minimum less its fixed members)."""
    return cohort.min_size - len(cohort.members)


def add_min_size(b: Build) -> None:
    """Hard: members + Σ places ≥ min size × opened, for every candidate cohort (people)."""
    for cid, opened in b.vars.open.items():
        needed = places_needed(b.cohorts[cid])
        if needed > 0:
            b.model.add(sum(b.vars.places(cid)) >= needed * opened)
