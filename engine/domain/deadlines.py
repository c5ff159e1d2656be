"""Latest start dates: for a referral's deadline, the last cohort start on each usual weekly pattern
that still finishes in time (after the safety margin for catch-up sessions)."""
from __future__ import annotations

from datetime import date, timedelta

from engine.domain.calendar import WeeklySlot, latest_start_date
from engine.domain.programmes import Catalogue

# The weekly patterns hubs run: a daytime track on two days, or one slot a week (evening).
PATTERNS: dict[int, tuple[str, tuple[WeeklySlot, ...]]] = {
    2: ("twice a week (Mon+Wed 10:00)", (WeeklySlot(0, "10:00", "DAYTIME"), WeeklySlot(2, "10:00", "DAYTIME"))),
    1: ("once a week (Tue 18:00)", (WeeklySlot(1, "18:00", "EVENING"),)),
}


def latest_starts(catalogue: Catalogue, programme_code: str, deadline: date, margin_days: int,
                  earliest: date, is_holiday) -> dict[str, date | None]:
    """Pattern label → latest start date (None: no start on or after ``earliest`` finishes in time)."""
    programme = catalogue.get(programme_code)
    finish_by = deadline - timedelta(days=margin_days)
    out = {}
    for cadence in sorted(programme.cadences, reverse=True):
        label, slots = PATTERNS.get(cadence, (None, None))
        if slots is not None:
            out[label] = latest_start_date(programme, slots, finish_by, is_holiday, earliest)
    return out


_LATEST: dict[tuple, date | None] = {}


def latest_start_any(catalogue: Catalogue, programme_code: str, deadline: date, margin_days: int,
                     is_holiday) -> date | None:
    """The latest start on the fastest usual pattern that still finishes in time.

    Memoised per (catalogue, calendar, programme, finish-by date): weekly plans ask about the same
    deadlines again and again, and each answer costs a handful of session calendars.
    """
    finish_by = deadline - timedelta(days=margin_days)
    key = (id(catalogue), id(is_holiday), programme_code, finish_by)
    if key not in _LATEST:
        programme = catalogue.get(programme_code)
        earliest = finish_by - timedelta(weeks=156)
        starts = [latest_start_date(programme, slots, finish_by, is_holiday, earliest)
                  for cadence, (_, slots) in PATTERNS.items() if cadence in programme.cadences]
        _LATEST[key] = max((d for d in starts if d is not None), default=None)
    return _LATEST[key]


def latest_start_from(catalogue: Catalogue, programme_code: str, deadline: date, margin_days: int,
                      is_holiday, as_of: date) -> date | None:
    """:func:`latest_start_any` if it is still ahead (on or after ``as_of``); None once it has gone."""
    latest = latest_start_any(catalogue, programme_code, deadline, margin_days, is_holiday)
    return latest if latest is not None and latest >= as_of else None
