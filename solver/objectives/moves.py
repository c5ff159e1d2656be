"""Shared by the tier-1 prices on groups of a kind (forecast, extra_groups): opening one, and pulling people off
places they hold into one."""
from __future__ import annotations

from solver.build import Build, Term


def priced_groups(b: Build, name: str, targets: set[str], open_cost: int, move_cost: int) -> Term:
    """Tier 1: ``open_cost`` × cohorts of ``targets`` opened + ``move_cost`` × people placed in one of them while
    holding a place outside them (weighted misses)."""
    term = Term(name, 1)
    if open_cost > 0:
        for cid in sorted(targets & set(b.vars.open)):
            term.add(open_cost, b.vars.open[cid])
    if move_cost <= 0:
        return term
    for demand in b.problem.demands:
        if demand.current_cohort_id is None or demand.current_cohort_id in targets:
            continue
        for cid in b.vars.cohorts_of.get(demand.referral_id, ()):
            if cid in targets:
                term.add(move_cost, b.vars.x[(demand.referral_id, cid)])
    return term
