"""Hard: an office never has more groups in a slot than it has group rooms (a missing office has one)."""
from __future__ import annotations

from collections import defaultdict

from solver.build import Build
from solver.rules import slot_weeks
from solver.schema import CohortOption


def spare_rooms(b: Build, office_code: str, day: int, start: str, week) -> int:
    """Rooms at the office less the running groups in the slot-week (negative when already over)."""
    return b.rooms.get(office_code, 1) - len(b.running.rooms.get((office_code, day, start, week), ()))


def no_room_beside_running(b: Build, cohort: CohortOption) -> bool:
    """Running groups fill the office in one of the cohort's slot-weeks: the rule keeps it closed
    (solver.prune does not create its variables at all)."""
    return any(spare_rooms(b, cohort.office_code, day, start, week) <= 0 for day, start, week in slot_weeks(cohort))


def add_rooms(b: Build) -> None:
    """Hard: per office and slot-week, running groups + Σ opened candidates ≤ rooms."""
    using: dict[tuple, list[str]] = defaultdict(list)
    for cid in b.vars.open:
        cohort = b.cohorts[cid]
        for day, start, week in slot_weeks(cohort):
            using[(cohort.office_code, day, start, week)].append(cid)
    limits: dict[tuple[str, ...], int] = {}
    for (office, day, start, week), cids in using.items():
        spare = spare_rooms(b, office, day, start, week)
        key = tuple(sorted(cids))
        limits[key] = min(limits.get(key, spare), spare)
    for cids, spare in sorted(limits.items()):
        if len(cids) > spare:
            b.model.add(sum(b.vars.open[cid] for cid in cids) <= max(spare, 0))
