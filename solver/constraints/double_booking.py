"""Hard: a facilitator runs at most one group in any weekly slot, running groups included."""
from __future__ import annotations

from collections import defaultdict

from solver.build import Build
from solver.rules import slot_weeks
from solver.schema import CohortOption


def clashes_with_running(b: Build, facilitator_id: str, cohort: CohortOption) -> bool:
    """The facilitator already runs a group in one of the cohort's slot-weeks: the rule keeps them off it
    (solver.prune does not create such staffing variables at all)."""
    return any(b.running.booked.get((facilitator_id, day, start, week)) for day, start, week in slot_weeks(cohort))


def add_double_booking(b: Build) -> None:
    """Hard: per facilitator and slot-week, running bookings + Σ staffed candidates ≤ 1."""
    booked: dict[tuple, list[str]] = defaultdict(list)
    for (fid, cid) in b.vars.staff:
        for day, start, week in slot_weeks(b.cohorts[cid]):
            booked[(fid, day, start, week)].append(cid)
    cliques: set[tuple[str, tuple[str, ...]]] = set()
    for (fid, day, start, week), cids in booked.items():
        if b.running.booked.get((fid, day, start, week)):
            for cid in cids:
                b.vars.fix(b.vars.staff[(fid, cid)], 0)
        elif len(cids) > 1:
            cliques.add((fid, tuple(sorted(cids))))
    for fid, cids in sorted(cliques):
        b.model.add_at_most_one(b.vars.staff[(fid, cid)] for cid in cids)
