"""Hard: a person the plans have already moved ``max_moves`` times keeps the running place they hold.

Stability per person (issue 14): weekly re-plans may move a published place when a shorter wait is worth
telling the person, but not without end. Once a referral has been moved ``Params.max_moves`` times, its
place on a running cohort stays as long as it is lawful — a safety rule still removes it (the place
variable exists only where every rule allows it) and an over-committed cohort is left to the input
(:meth:`solver.build.Build.held_places`). 0 turns the cap off.
"""
from __future__ import annotations

from solver.build import Build


def add_move_cap(b: Build) -> None:
    """Hard: x[person, the running cohort they hold] = 1 for everyone moved max_moves times already (people)."""
    cap = b.params.max_moves
    if cap <= 0:
        return
    for cid, rids in b.held_places().items():
        for rid in rids:
            if b.demands[rid].moves >= cap:
                b.vars.fix(b.vars.x[(rid, cid)], 1)
