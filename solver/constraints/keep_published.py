"""Hard: a person told of a place on a running cohort keeps a place: re-planning may move them, never drop them.

Only while their cohort is still compatible (a sentence change that breaks the deadline does remove
them) and only where the cohort's free places can hold everyone it promised (otherwise the input data
over-committed the group and the rule cannot hold for all of them).
"""
from __future__ import annotations

from solver.build import Build
from solver.schema import CohortState


def add_keep_published(b: Build) -> None:
    """Hard: Σ places of a person holding a compatible place on an OPEN cohort = 1 (people)."""
    keepers: dict[str, list[str]] = {}
    for demand in b.problem.demands:
        cohort = b.cohorts.get(demand.current_cohort_id or "")
        if cohort is not None and cohort.state == CohortState.OPEN and (demand.referral_id, cohort.cohort_id) in b.vars.x:
            keepers.setdefault(cohort.cohort_id, []).append(demand.referral_id)
    for cid, rids in sorted(keepers.items()):
        if len(rids) <= b.cohorts[cid].free_places:
            for rid in rids:
                b.model.add_exactly_one(b.vars.choices(rid))
