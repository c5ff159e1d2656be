"""Hard: a facilitator's weekly hours (delivery + preparation) are never exceeded in any week."""
from __future__ import annotations

import math
from collections import defaultdict

from solver.build import HOURS_SCALE, Build


def add_facilitator_hours(b: Build) -> None:
    """Hard: for every facilitator and week, running load + Σ staffed candidates' weekly hours ≤ contracted
    weekly hours (hundredths of an hour)."""
    weekly: dict[tuple[str, object], list[str]] = defaultdict(list)
    for (fid, cid) in b.vars.staff:
        for week in b.cohorts[cid].load_weeks:
            weekly[(fid, week)].append(cid)
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    for (fid, week), cids in weekly.items():
        facilitator = b.facilitators[fid]
        spare = facilitator.weekly_hours - b.running.hours.get((fid, week), 0.0)
        limit = max(0, math.floor(spare * HOURS_SCALE + 1e-6))  # already over on running groups: no more
        key = (fid, tuple(sorted(cids)))
        if key not in seen or limit < seen[key]:
            seen[key] = limit
    for (fid, cids), limit in seen.items():
        loads = [round(b.cohorts[cid].facilitator_weekly_hours * HOURS_SCALE) for cid in cids]
        if sum(loads) > limit:
            b.model.add(sum(load * b.vars.staff[(fid, cid)] for load, cid in zip(loads, cids)) <= limit)
