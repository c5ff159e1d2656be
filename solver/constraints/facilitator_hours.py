"""Hard: a facilitator's weekly hours (delivery + preparation) are never exceeded in any week."""
from __future__ import annotations

import math
from collections import defaultdict

from solver.build import HOURS_SCALE, Build
from solver.schema import CohortOption


def spare_hundredths(b: Build, facilitator_id: str, week) -> int:
    """Contracted hours less the running groups' load in the week (hundredths; 0 when already over)."""
    spare = b.facilitators[facilitator_id].weekly_hours - b.running.hours.get((facilitator_id, week), 0.0)
    return max(0, math.floor(spare * HOURS_SCALE + 1e-6))


def load_hundredths(cohort: CohortOption) -> int:
    return round(cohort.facilitator_weekly_hours * HOURS_SCALE)


def over_hours_with_running(b: Build, facilitator_id: str, cohort: CohortOption) -> bool:
    """The cohort alone, on top of the running groups, takes the facilitator past their hours in some load
    week: the rule keeps them off it (solver.prune does not create such staffing variables at all)."""
    load = load_hundredths(cohort)
    return any(load > spare_hundredths(b, facilitator_id, week) for week in cohort.load_weeks)


def add_facilitator_hours(b: Build) -> None:
    """Hard: for every facilitator and week, running load + Σ staffed candidates' weekly hours ≤ contracted
    weekly hours (hundredths of an hour)."""
    weekly: dict[tuple[str, object], list[str]] = defaultdict(list)
    for (fid, cid) in b.vars.staff:
        for week in b.cohorts[cid].load_weeks:
            weekly[(fid, week)].append(cid)
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    for (fid, week), cids in weekly.items():
        limit = spare_hundredths(b, fid, week)  # already over on running groups: no more
        key = (fid, tuple(sorted(cids)))
        if key not in seen or limit < seen[key]:
            seen[key] = limit
    for (fid, cids), limit in seen.items():
        loads = [load_hundredths(b.cohorts[cid]) for cid in cids]
        if sum(loads) > limit:
            b.model.add(sum(load * b.vars.staff[(fid, cid)] for load, cid in zip(loads, cids)) <= limit)
