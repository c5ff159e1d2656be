"""Hard: a person told of a place on a running cohort keeps a place: re-planning may move them, never drop them.

Only while their cohort is still compatible (a sentence change that breaks the deadline does remove
them) and only where the cohort's free places can hold everyone it promised (otherwise the input data
over-committed the group and the rule cannot hold for all of them).
"""
from __future__ import annotations

from solver.build import Build


def add_keep_published(b: Build) -> None:
    """Hard: Σ places of a person holding a compatible place on an OPEN cohort = 1 (people)."""
    for rids in b.held_places().values():
        for rid in rids:
            b.model.add_exactly_one(b.vars.choices(rid))
