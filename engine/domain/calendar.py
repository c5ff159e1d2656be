"""Session calendars: on which dates a cohort's sessions fall, given its weekly slots.

Deadlines and facilitator load both hinge on the real calendar (bank holidays push every later
session back, gaps stretch the programme), so the domain computes dates rather than approximating
"sessions / cadence" weeks. Bank holidays are injected as ``is_holiday`` so this module stays
standard-library only and tests can use a fixed set of dates. A slot on any day ``is_holiday`` names is
skipped, weekend or not, so the calendar must name the days actually off: for England and Wales the
substitute weekday of a holiday that falls on a weekend, not its nominal Saturday or Sunday
(``engine.calendars``).

Rules (REFERENCE.md, "Session calendar rules"): sessions fill the weekly slots in order, one session
per slot, one-to-ones included as placeholders; a slot on a bank holiday is skipped and the session
moves to the next slot; a session with a minimum gap waits for the first slot at least that many
weeks after its anchor (the previous session, or the last group session for BC reviews).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from contextlib import suppress
from datetime import date, timedelta
from enum import StrEnum
from typing import Callable, Iterable, Sequence

from engine.domain.errors import DomainError
from engine.domain.programmes import GapFrom, Programme, SessionKind

__all__ = [
    "IsHoliday", "Period", "WeeklySlot", "ScheduledSession", "schedule_sessions", "cohort_end_date",
    "group_weeks", "latest_start_date", "no_holidays",
]

IsHoliday = Callable[[date], bool]

# A calendar that cannot place its sessions within this many days is misconfigured (for example an
# is_holiday that is always true); failing beats looping for ever.
MAX_SEARCH_DAYS = 366 * 10

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Period(StrEnum):
    DAYTIME = "DAYTIME"
    EVENING = "EVENING"


def no_holidays(day: date) -> bool:
    """An ``is_holiday`` for callers (and tests) that deliberately ignore bank holidays."""
    return False


@dataclass(frozen=True, order=True)
class WeeklySlot:
    """A weekly session slot: weekday (0 = Monday), start "HH:MM" and daytime/evening period.

    Ordered by weekday then start time, which is the order sessions fill slots within a week.
    """

    weekday: int
    start: str
    period: Period = Period.DAYTIME

    def __post_init__(self) -> None:
        if isinstance(self.weekday, bool) or self.weekday not in range(7):
            raise DomainError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday!r}")
        if not isinstance(self.start, str) or not _HH_MM.match(self.start):
            raise DomainError(f"slot start must be 24-hour 'HH:MM', got {self.start!r}")
        try:
            object.__setattr__(self, "period", Period(self.period))
        except ValueError:
            raise DomainError(f"period must be DAYTIME or EVENING, got {self.period!r}") from None


@dataclass(frozen=True)
class ScheduledSession:
    """One session of a cohort on its date; ``number`` counts from 1 in programme order."""

    number: int
    kind: SessionKind
    minutes: int
    on: date
    slot: WeeklySlot
    module: str | None = None
    label: str | None = None

    @property
    def is_group(self) -> bool:
        return self.kind is SessionKind.GROUP


def slots_per_week(programme: Programme, period: str, evenings: int = 1) -> int:
    """Daytime tracks run twice a week where the programme allows it, evening tracks ``evenings`` times (once
    unless asked otherwise, and never more often than the programme allows)."""
    wanted = 2 if period == "DAYTIME" else evenings
    return max((c for c in programme.cadences if c <= wanted), default=min(programme.cadences))


def weekly_patterns(programme: Programme, period: str, weekdays: Sequence[int],
                    starts: Sequence[str], evenings: int = 1) -> list[tuple[WeeklySlot, ...]]:
    """Weekly slot sets a track of ``programme`` can take on the group ``weekdays``: twice-weekly tracks
    pair each day with the one half a week later (Monday with Wednesday on Monday–Thursday)."""
    days = list(weekdays)
    if slots_per_week(programme, period, evenings) == 2 and len(days) >= 2:
        half = len(days) // 2
        combos = [(days[k], days[k + half]) for k in range(half)]
    else:
        combos = [(d,) for d in days]
    return [tuple(WeeklySlot(d, start, period) for d in combo) for start in starts for combo in combos]


def schedule_sessions(
    programme: Programme, slots: Iterable[WeeklySlot], start_date: date, is_holiday: IsHoliday
) -> list[ScheduledSession]:
    """Every session of ``programme`` on the slots, from the first usable slot on/after ``start_date``."""
    return [ScheduledSession(number, template.kind, template.minutes, day, slot, template.module, template.label)
            for number, (template, (day, slot)) in enumerate(
                zip(programme.sessions_in_order, _session_slots(programme, slots, start_date, is_holiday)), start=1)]


def cohort_end_date(
    programme: Programme, slots: Iterable[WeeklySlot], start_date: date, is_holiday: IsHoliday
) -> date:
    """Date of the last session (the review, where there is one): what the deadline is checked against."""
    return _session_slots(programme, slots, start_date, is_holiday)[-1][0]


def _session_slots(programme: Programme, slots: Iterable[WeeklySlot], start_date: date,
                   is_holiday: IsHoliday) -> list[tuple[date, WeeklySlot]]:
    """The (day, slot) of each session in programme order: the module docstring's rules over the kept table of
    usable slots (:class:`_Table`)."""
    ordered = _checked_slots(programme, slots)
    horizon = start_date + timedelta(days=MAX_SEARCH_DAYS)  # past it, the calendar is misconfigured
    table = _table(ordered, is_holiday, start_date, start_date + timedelta(days=_FIRST_SPAN))
    at = table.index(start_date)
    taken: list[tuple[date, WeeklySlot]] = []
    last_group: date | None = None
    for template in programme.sessions_in_order:
        not_before = None
        if template.min_gap_weeks_before and taken:  # the slots before it stay empty
            anchor = last_group if template.min_gap_from is GapFrom.LAST_GROUP_SESSION and last_group else taken[-1][0]
            not_before = anchor + timedelta(weeks=template.min_gap_weeks_before)
            at = max(at, table.index(not_before))
        while at >= len(table.pairs) or table.days[at] > horizon:
            table = _wider(table, horizon, start_date)  # it may start earlier: find the place again
            at = max(table.index(start_date), table.index(not_before) if not_before else 0,
                     bisect_right(table.pairs, taken[-1]) if taken else 0)
        taken.append(table.pairs[at])
        if template.kind is SessionKind.GROUP:
            last_group = table.days[at]
        at += 1
    return taken


def group_weeks(
    programme: Programme, slots: Iterable[WeeklySlot], start_date: date, is_holiday: IsHoliday
) -> int:
    """Calendar weeks (Monday to Sunday) from the first to the last group session, both included.

    Facilitator load is carried for as long as the group runs, holiday weeks included, and not
    during the pre-group gap or the wait for the review.
    """
    return weeks_spanned(s.on for s in schedule_sessions(programme, slots, start_date, is_holiday)
                         if s.is_group)


def weeks_spanned(days: Iterable[date]) -> int:
    """Number of Monday-to-Sunday weeks from the earliest to the latest of ``days`` (0 if none)."""
    ordered = sorted(days)
    if not ordered:
        return 0
    return (_monday(ordered[-1]) - _monday(ordered[0])).days // 7 + 1


def latest_start_date(
    programme: Programme,
    slots: Iterable[WeeklySlot],
    deadline: date,
    is_holiday: IsHoliday,
    earliest: date,
) -> date | None:
    """The latest start (a non-holiday slot day, not before ``earliest``) still ending by ``deadline``.

    ``None`` when even a cohort starting at ``earliest`` would end after the deadline. Starting later
    never ends earlier (each session's date is the first free slot after a bound that only grows
    with the start), so feasible starts form a prefix of the slot days and a binary search over
    them needs only about log2(slot days) calendars.
    """
    ordered = _checked_slots(programme, slots)
    table = _table(ordered, is_holiday, earliest, deadline)
    starts = list(dict.fromkeys(table.days[table.index(earliest):table.index(deadline + timedelta(days=1))]))
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if cohort_end_date(programme, ordered, starts[mid], is_holiday) <= deadline:
            lo = mid + 1
        else:
            hi = mid
    return starts[lo - 1] if lo else None


def _checked_slots(programme: Programme, slots: Iterable[WeeklySlot]) -> tuple[WeeklySlot, ...]:
    """Slots in weekly order; their number must be a cadence the programme is accredited to run."""
    given = list(slots)
    ordered = tuple(sorted(set(given)))
    if len(ordered) != len(given):
        raise DomainError(f"{programme.code}: the same weekly slot is given twice: {given}")
    if len(ordered) not in programme.cadences:
        allowed = " or ".join(str(c) for c in programme.cadences)
        raise DomainError(f"{programme.code} runs {allowed} session(s) a week, got {len(ordered)} slot(s)")
    return ordered


class _Table:
    """The usable (day, slot) pairs of one set of weekly slots under one holiday calendar from ``first`` to ``last``
    (holidays left out), in time order: a schedule is then index steps and binary searches, not a walk over days
    asking the calendar about each (plans, deadlines and the API ask for hundreds of thousands of schedules). Never
    changed once made: a wider one replaces it in :data:`_TABLES`, and a caller keeps the one it has."""

    __slots__ = ("slots", "is_holiday", "first", "last", "days", "pairs")

    def __init__(self, slots: tuple[WeeklySlot, ...], is_holiday: IsHoliday, first: date, last: date) -> None:
        self.slots, self.is_holiday, self.first, self.last = slots, is_holiday, first, last
        by_weekday: dict[int, list[WeeklySlot]] = {}
        for slot in slots:
            by_weekday.setdefault(slot.weekday, []).append(slot)
        self.pairs: list[tuple[date, WeeklySlot]] = []
        day = first
        while day <= last:
            today = by_weekday.get(day.weekday())
            if today and not is_holiday(day):
                self.pairs.extend((day, slot) for slot in today)
            day += timedelta(days=1)
        self.days = [day for day, _ in self.pairs]

    def index(self, day: date) -> int:
        """Of the first pair on or after ``day`` (``len(pairs)`` when past the last)."""
        return bisect_left(self.days, day)


_FIRST_SPAN = 2 * 366  # days a table first covers after a start (every programme's sessions fit; wider on demand)
_TABLES: OrderedDict[tuple, _Table] = OrderedDict()  # (slots, calendar) → its widest table; the least recent go
_MAX_TABLES = 512


def _table(slots: tuple[WeeklySlot, ...], is_holiday: IsHoliday, first: date, last: date) -> _Table:
    """A table covering ``first`` to ``last`` (kept per slots and calendar, widened when asked for more)."""
    try:
        key = (slots, is_holiday)  # a bound method is equal (and hashes the same) for the same object and function
        kept = _TABLES.get(key)
    except TypeError:  # a calendar that cannot be a key: a table for this call only
        return _Table(slots, is_holiday, first, last)
    if kept is not None and kept.first <= first and last <= kept.last:
        with suppress(KeyError):  # another thread may have just let it go (tables are shared by the API's threads)
            _TABLES.move_to_end(key)
        return kept
    if kept is not None:
        first, last = min(first, kept.first), max(last, kept.last)
    made = _Table(slots, is_holiday, first, last)
    _TABLES[key] = made
    with suppress(KeyError):
        while len(_TABLES) > _MAX_TABLES:
            _TABLES.popitem(last=False)
    return made


def _wider(table: _Table, horizon: date, start: date) -> _Table:
    """The same slots and calendar a year further on; a calendar with no usable slot within
    :data:`MAX_SEARCH_DAYS` of the start (``horizon``) is an error."""
    if table.last >= horizon:
        raise DomainError(f"no usable slot within {MAX_SEARCH_DAYS} days of {start}: check the holiday calendar")
    return _table(table.slots, table.is_holiday, table.first, min(horizon, table.last + timedelta(days=366)))


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
