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
from datetime import date, timedelta
from enum import StrEnum
from typing import Callable, Iterable, Iterator, Sequence

from engine.domain.errors import DomainError
from engine.domain.programmes import GapFrom, Programme, SessionKind, SessionTemplate

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


def slots_per_week(programme: Programme, period: str) -> int:
    """Daytime tracks run twice a week where the programme allows it, evening tracks once."""
    wanted = 2 if period == "DAYTIME" else 1
    return max((c for c in programme.cadences if c <= wanted), default=min(programme.cadences))


def weekly_patterns(programme: Programme, period: str, weekdays: Sequence[int],
                    starts: Sequence[str]) -> list[tuple[WeeklySlot, ...]]:
    """Weekly slot sets a track of ``programme`` can take on the group ``weekdays``: twice-weekly tracks
    pair each day with the one half a week later (Monday with Wednesday on Monday–Thursday)."""
    days = list(weekdays)
    if slots_per_week(programme, period) == 2 and len(days) >= 2:
        half = len(days) // 2
        combos = [(days[k], days[k + half]) for k in range(half)]
    else:
        combos = [(d,) for d in days]
    return [tuple(WeeklySlot(d, start, period) for d in combo) for start in starts for combo in combos]


def schedule_sessions(
    programme: Programme, slots: Iterable[WeeklySlot], start_date: date, is_holiday: IsHoliday
) -> list[ScheduledSession]:
    """Every session of ``programme`` on the slots, from the first usable slot on/after ``start_date``."""
    occurrences = _occurrences(_checked_slots(programme, slots), start_date, is_holiday)
    scheduled: list[ScheduledSession] = []
    for number, template in enumerate(programme.sessions_in_order, start=1):
        day, slot = _first_on_or_after(occurrences, _not_before(template, scheduled))
        scheduled.append(ScheduledSession(
            number, template.kind, template.minutes, day, slot, template.module, template.label,
        ))
    return scheduled


def cohort_end_date(
    programme: Programme, slots: Iterable[WeeklySlot], start_date: date, is_holiday: IsHoliday
) -> date:
    """Date of the last session (the review, where there is one): what the deadline is checked against."""
    return schedule_sessions(programme, slots, start_date, is_holiday)[-1].on


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
    weekdays = {slot.weekday for slot in ordered}
    starts = list(_slot_days(weekdays, earliest, deadline, is_holiday))
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


def _occurrences(
    slots: Sequence[WeeklySlot], start: date, is_holiday: IsHoliday
) -> Iterator[tuple[date, WeeklySlot]]:
    """Usable (day, slot) pairs in time order from ``start``; holidays are left out."""
    weekdays = {slot.weekday for slot in slots}
    for day in _slot_days(weekdays, start, start + timedelta(days=MAX_SEARCH_DAYS), is_holiday):
        for slot in slots:
            if slot.weekday == day.weekday():
                yield day, slot
    raise DomainError(f"no usable slot within {MAX_SEARCH_DAYS} days of {start}: check the holiday calendar")


def _slot_days(weekdays: set[int], first: date, last: date, is_holiday: IsHoliday) -> Iterator[date]:
    """Days from ``first`` to ``last`` inclusive that carry a slot and are not bank holidays."""
    day = first
    while day <= last:
        if day.weekday() in weekdays and not is_holiday(day):
            yield day
        day += timedelta(days=1)


def _not_before(template: SessionTemplate, scheduled: Sequence[ScheduledSession]) -> date | None:
    """Earliest date the session may take, from its minimum gap; ``None`` when it has no gap."""
    if not template.min_gap_weeks_before or not scheduled:
        return None
    return _gap_anchor(template.min_gap_from, scheduled) + timedelta(weeks=template.min_gap_weeks_before)


def _gap_anchor(gap_from: GapFrom, scheduled: Sequence[ScheduledSession]) -> date:
    if gap_from is GapFrom.LAST_GROUP_SESSION:
        groups = [s.on for s in scheduled if s.is_group]
        if groups:
            return groups[-1]
    return scheduled[-1].on


def _first_on_or_after(
    occurrences: Iterator[tuple[date, WeeklySlot]], not_before: date | None
) -> tuple[date, WeeklySlot]:
    """Take the next unused slot, skipping (and so leaving empty) those before ``not_before``."""
    for day, slot in occurrences:
        if not_before is None or day >= not_before:
            return day, slot
    raise AssertionError("occurrences never run out: they raise past the search horizon")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
