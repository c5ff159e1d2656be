"""Hard: a candidate cohort opens only with at least its minimum size (fixed members count)."""
from __future__ import annotations

from solver.build import Build


def add_min_size(b: Build) -> None:
    """Hard: members + Σ places ≥ min size × opened, for every candidate cohort (people)."""
    for cid, opened in b.vars.open.items():
        cohort = b.cohorts[cid]
        needed = cohort.min_size - len(cohort.members)
        if needed > 0:
            b.model.add(sum(b.vars.places(cid)) >= needed * opened)
