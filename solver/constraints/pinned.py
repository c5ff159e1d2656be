"""Hard: a place inside the freeze window is not moved: the person keeps the cohort they hold.

The engine normally turns such people into fixed members; this rule holds the line for any that reach
the solver as demands. Where more people claim a frozen cohort than it has free places, the input has
over-committed the group and the rule is left out for it rather than making every plan impossible.
"""
from __future__ import annotations

from datetime import timedelta

from solver.build import Build
from solver.schema import CohortState


def add_pinned(b: Build) -> None:
    """Hard: a demand holding a place on a running cohort that starts within freeze_days keeps it."""
    frozen_until = b.as_of + timedelta(days=b.params.freeze_days)
    holders: dict[str, list] = {}
    for demand in b.problem.demands:
        cohort = b.cohorts.get(demand.current_cohort_id or "")
        var = b.vars.x.get((demand.referral_id, cohort.cohort_id)) if cohort else None
        if var is not None and cohort.state == CohortState.OPEN and cohort.start_date <= frozen_until:
            holders.setdefault(cohort.cohort_id, []).append(var)
    for cid, places in sorted(holders.items()):
        if len(places) <= b.cohorts[cid].free_places:
            for var in places:
                b.vars.fix(var, 1)
