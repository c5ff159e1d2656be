"""Soft (tier 4): people placed at an office outside their own PDU travel further."""
from __future__ import annotations

from solver.build import Build, Term

COST_PER_TRAVELLER = 2


def travel(b: Build) -> Term:
    """Soft: COST_PER_TRAVELLER per person placed in a cohort of another PDU (points)."""
    term = Term("travel", 4)
    for (rid, cid), var in b.vars.x.items():
        home = b.demands[rid].pdu_code
        if home and b.cohorts[cid].pdu_code != home:
            term.add(COST_PER_TRAVELLER, var)
    return term
