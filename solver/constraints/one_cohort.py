"""Hard: a referral takes at most one place."""
from __future__ import annotations

from solver.build import Build


def add_one_cohort(b: Build) -> None:
    """Hard: Σ places of a referral ≤ 1."""
    for rid in b.vars.cohorts_of:
        choices = b.vars.choices(rid)
        if len(choices) > 1:
            b.model.add_at_most_one(choices)
