"""Soft (tier 3): places a person holds that a plan moves to a later or same-week group, or takes away, weighted by
how public each place already is; ranked above waits with ``Params.stability_first == "later"``.

In the closed loop at the sized budget, 375 of 582 changes to published places on seed 9 moved a person to a
group starting later (215 of them by eight weeks or more): with waits ranked above changes, a plan swaps a
person's place for a later one whenever someone else's cheaper wait pays for it. Ranked above waits, such a move
is made only to save a deadline, while moves to an earlier group stay the waits' to make (BENCHMARKS.md, issue 14,
session 13). Empty unless that setting is on, so the default model is unchanged.
"""
from __future__ import annotations

from solver.build import Build, Term
from solver.objectives.plan_changes import PUBLICITY


def moved_later(b: Build) -> Term:
    """Soft: Σ publicity weight over people moved off the cohort they hold to one starting no earlier, or
    removed from it."""
    term = Term("moved_later", 3)
    if b.params.stability_first != "later":
        return term
    for demand in b.problem.demands:
        held = b.cohorts.get(demand.current_cohort_id or "")
        if held is None:
            continue
        weight = PUBLICITY[held.state]
        term.constant += weight
        for cid in b.vars.cohorts_of.get(demand.referral_id, ()):
            if cid == held.cohort_id or b.cohorts[cid].start_date < held.start_date:
                term.add(-weight, b.vars.x[(demand.referral_id, cid)])
    return term
