"""Soft (tier 4): every new cohort is a cost (rooms, staff, management), so open no more than needed."""
from __future__ import annotations

from solver.build import Build, Term

COST_PER_COHORT = 50


def cohorts_opened(b: Build) -> Term:
    """Soft: COST_PER_COHORT per candidate opened (points)."""
    term = Term("cohorts_opened", 4)
    for var in b.vars.open.values():
        term.add(COST_PER_COHORT, var)
    return term
