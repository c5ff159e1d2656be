"""Soft (tier 4): empty places in cohorts the plan opens."""
from __future__ import annotations

from solver.build import Build, Term

COST_PER_EMPTY_PLACE = 5


def underfill(b: Build) -> Term:
    """Soft: COST_PER_EMPTY_PLACE × (max size − members − placed) for each opened candidate (points)."""
    term = Term("underfill", 4)
    for cid, opened in b.vars.open.items():
        cohort = b.cohorts[cid]
        term.add(COST_PER_EMPTY_PLACE * max(cohort.free_places, 0), opened)
        for place in b.vars.places(cid):
            term.add(-COST_PER_EMPTY_PLACE, place)
    return term
