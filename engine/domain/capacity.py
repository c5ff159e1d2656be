"""Facilitator capacity against demand, per programme, PDU and week: plain data in, plain rows out.

Pure (no database, no I/O, no clock): the weekly planner report (section 4) and the
capacity-shortfall alert rule both call it with data they read themselves.

Weeks are Monday to Sunday, as the solver counts facilitator load (``solver.schema.CohortOption.load_weeks``);
a window starting on another day starts on that day's Monday. All hours are facilitator hours
(delivery plus preparation), rounded to 0.01 h.

Demand for (programme, PDU, week) = waiting hours + committed hours:

- **waiting**: the people waiting in the PDU for the programme who can still finish in time (their
  latest start is on or after ``window_start``) need ``ceil(n / max_size)`` groups; the list
  is cleared as soon as possible, so every such group runs from the window's first week for
  ``group_weeks`` weeks (cut at the window's end) and needs ``facilitators_per_group`` facilitators
  for ``facilitator_weekly_hours`` each week. People whose latest start has passed are not demand:
  no cohort can finish before their deadline (the report counts them as misses instead).
- **committed**: every live cohort (confirmed or started) needs ``facilitators_required ×
  facilitator_weekly_hours`` in each week its group load runs, counted in the cohort's PDU.

Capacity for (programme, PDU, week): every facilitator's ``weekly_hours`` times the share of the
week's working days (Monday to Friday) on which they are neither absent nor gone (on or after
``left_on``), split evenly across the programmes they are trained for, counted in their home PDU.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from engine.domain.calendar import schedule_sessions, weeks_spanned
from engine.domain.programmes import Catalogue
from engine.domain.deadlines import PATTERNS

__all__ = [
    "WaitingDemand", "ProgrammeLoad", "CohortLoad", "FacilitatorSupply", "CapacityRow", "CapacityTotal",
    "Utilisation", "capacity_vs_demand", "totals", "shortfalls", "facilitator_utilisation",
    "available_share", "week_starts", "programme_loads", "FTE_WEEKLY_HOURS",
]

FTE_WEEKLY_HOURS = 31.5  # one full-time facilitator: delivery plus preparation hours a week (CALIBRATION.md)
Key = tuple[str, str]  # (programme_code, pdu_code)


@dataclass(frozen=True)
class WaitingDemand:
    """One person on the waiting list for a programme."""

    programme_code: str
    pdu_code: str
    latest_start: date | None  # the latest cohort start that still finishes before the deadline; None: none does


@dataclass(frozen=True)
class ProgrammeLoad:
    """What one group of a programme asks of facilitators."""

    max_size: int
    facilitators_per_group: int
    facilitator_weekly_hours: float  # per facilitator per week while the group runs
    group_weeks: int                 # weeks in which group sessions run


@dataclass(frozen=True)
class CohortLoad:
    """A cohort as facilitator load; only ``live`` ones (confirmed or started) commit hours."""

    cohort_id: str
    programme_code: str
    pdu_code: str
    start_date: date
    end_date: date
    facilitator_weekly_hours: float
    facilitators_required: int
    live: bool
    group_weeks: int | None = None  # load weeks from ``load_start``; None: every week up to ``end_date``
    load_start: date | None = None  # first group session (default ``start_date``)
    facilitator_ids: tuple[str, ...] = ()

    def load_weeks(self) -> tuple[date, ...]:
        """Mondays of the weeks in which this cohort's facilitators carry its load."""
        first = _monday(self.load_start or self.start_date)
        if self.group_weeks is not None:
            count = max(1, self.group_weeks)
        else:
            count = max(1, (_monday(self.end_date) - first).days // 7 + 1)
        return tuple(first + timedelta(weeks=i) for i in range(count))


@dataclass(frozen=True)
class FacilitatorSupply:
    facilitator_id: str
    home_pdu: str
    programmes: frozenset[str]
    weekly_hours: float
    absences: tuple[tuple[date, date], ...] = ()  # inclusive date ranges
    left_on: date | None = None                  # no hours on or after this date


class _Hours:
    """Demand (waiting + committed) and the gap to capacity, for rows and their totals alike."""

    waiting_hours: float
    committed_hours: float
    capacity_hours: float

    @property
    def demand_hours(self) -> float:
        return round(self.waiting_hours + self.committed_hours, 2)

    @property
    def gap_hours(self) -> float:
        """Capacity minus demand: negative is a shortfall."""
        return round(self.capacity_hours - self.demand_hours, 2)


@dataclass(frozen=True)
class CapacityRow(_Hours):
    programme_code: str
    pdu_code: str
    week_start: date        # a Monday
    waiting_hours: float
    committed_hours: float
    capacity_hours: float


@dataclass(frozen=True)
class CapacityTotal(_Hours):
    """Rows summed over weeks for one key (e.g. ``("BC-M",)`` or ``("BC-M", "RS-P01")``)."""

    key: tuple[str, ...]
    waiting_hours: float
    committed_hours: float
    capacity_hours: float
    weeks: int
    short_weeks: int                  # weeks in which this key's demand exceeded its capacity
    first_short_week: date | None


@dataclass(frozen=True)
class Utilisation:
    facilitator_id: str
    home_pdu: str
    programmes: tuple[str, ...]
    contracted_hours: float  # weekly hours × weeks
    available_hours: float   # less absences and leaving
    committed_hours: float   # load of the live cohorts they are assigned to

    @property
    def utilisation(self) -> float | None:
        """Committed over contracted hours (None for a facilitator with no contracted hours)."""
        return self.committed_hours / self.contracted_hours if self.contracted_hours else None

    @property
    def overbooked(self) -> bool:
        return self.committed_hours > self.available_hours + 1e-9


def weekly_hours(programme, sessions_per_week: int) -> float:
    """Delivery plus preparation per facilitator per week while the group runs."""
    group = next((t for t in programme.sessions_in_order if t.is_group), None)
    minutes = (group.minutes if group else 150) + programme.prep_minutes_per_group_session
    return round(sessions_per_week * minutes / 60, 2)


def week_starts(window_start: date, weeks: int) -> list[date]:
    """The Mondays of the window's weeks."""
    first = _monday(window_start)
    return [first + timedelta(weeks=k) for k in range(weeks)]


def capacity_vs_demand(waiting: Iterable[WaitingDemand], cohorts: Iterable[CohortLoad],
                       facilitators: Iterable[FacilitatorSupply], programmes: Mapping[str, ProgrammeLoad],
                       window_start: date, weeks: int = 26) -> list[CapacityRow]:
    """Demand and capacity hours per (programme, PDU, week) over ``weeks`` weeks from ``window_start``.

    Every (programme, PDU) with any demand or capacity gets a row for every week, sorted by programme,
    PDU and week. Waiting people of a programme missing from ``programmes`` raise ``KeyError``.
    """
    mondays = week_starts(window_start, weeks)
    index = {monday: k for k, monday in enumerate(mondays)}
    waiting_h = _waiting_hours(waiting, programmes, window_start, mondays)
    committed_h: dict[Key, list[float]] = defaultdict(lambda: [0.0] * weeks)
    for cohort in cohorts:
        if not cohort.live:
            continue
        per_week = cohort.facilitators_required * cohort.facilitator_weekly_hours
        for monday in cohort.load_weeks():
            if monday in index:
                committed_h[(cohort.programme_code, cohort.pdu_code)][index[monday]] += per_week
    capacity_h: dict[Key, list[float]] = defaultdict(lambda: [0.0] * weeks)
    for person in facilitators:
        if not person.programmes:
            continue
        shares = [person.weekly_hours * available_share(person, monday) / len(person.programmes)
                  for monday in mondays]
        for code in person.programmes:
            column = capacity_h[(code, person.home_pdu)]
            for k, hours in enumerate(shares):
                column[k] += hours
    zero = [0.0] * weeks
    keys = sorted(set(waiting_h) | set(committed_h) | set(capacity_h))
    return [CapacityRow(code, pdu, monday, round(waiting_h.get((code, pdu), zero)[k], 2),
                        round(committed_h.get((code, pdu), zero)[k], 2),
                        round(capacity_h.get((code, pdu), zero)[k], 2))
            for code, pdu in keys for k, monday in enumerate(mondays)]


def _waiting_hours(waiting: Iterable[WaitingDemand], programmes: Mapping[str, ProgrammeLoad],
                   window_start: date, mondays: Sequence[date]) -> dict[Key, list[float]]:
    if not mondays:
        return {}
    people: dict[Key, int] = defaultdict(int)
    for person in waiting:
        if person.latest_start is not None and person.latest_start >= window_start:
            people[(person.programme_code, person.pdu_code)] += 1
    out = {}
    for (code, pdu), n in people.items():
        load = programmes[code]
        per_week = math.ceil(n / load.max_size) * load.facilitators_per_group * load.facilitator_weekly_hours
        running = min(max(1, load.group_weeks), len(mondays))
        out[(code, pdu)] = [per_week if k < running else 0.0 for k in range(len(mondays))]
    return out


def available_share(facilitator: FacilitatorSupply, monday: date) -> float:
    """Share (0–1) of the week's five working days the facilitator is employed and not absent."""
    days = [monday + timedelta(days=d) for d in range(5)]
    free = [day for day in days if (facilitator.left_on is None or day < facilitator.left_on)
            and not any(start <= day <= end for start, end in facilitator.absences)]
    return len(free) / 5


def totals(rows: Iterable[CapacityRow], by: Sequence[str] = ("programme_code", "pdu_code"),
           weeks: int | None = None) -> list[CapacityTotal]:
    """Sum the rows per key (fields of :class:`CapacityRow` named in ``by``) over the first ``weeks``
    weeks (all when None). A short week is one where the key's summed demand exceeds its summed capacity."""
    rows = list(rows)
    mondays = sorted({r.week_start for r in rows})[:weeks]
    kept = set(mondays)
    weekly: dict[tuple[str, ...], dict[date, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0] * 3))
    for row in rows:
        if row.week_start in kept:
            cell = weekly[tuple(getattr(row, f) for f in by)][row.week_start]
            cell[0] += row.waiting_hours
            cell[1] += row.committed_hours
            cell[2] += row.capacity_hours
    out = []
    for key in sorted(weekly):
        cells = weekly[key]
        short = sorted(m for m, (w, c, cap) in cells.items() if w + c > cap + 1e-9)
        out.append(CapacityTotal(key, round(sum(c[0] for c in cells.values()), 2),
                                 round(sum(c[1] for c in cells.values()), 2),
                                 round(sum(c[2] for c in cells.values()), 2), len(mondays), len(short),
                                 short[0] if short else None))
    return out


def shortfalls(rows: Iterable[CapacityRow], within_weeks: int = 12,
               by: Sequence[str] = ("programme_code",)) -> list[CapacityTotal]:
    """Keys whose demand exceeds capacity in at least one of the first ``within_weeks`` weeks, worst
    first (largest total shortfall): what a "capacity shortfall forecast" alert is raised for."""
    found = [t for t in totals(rows, by, within_weeks) if t.short_weeks]
    return sorted(found, key=lambda t: (t.gap_hours, t.key))


def facilitator_utilisation(cohorts: Iterable[CohortLoad], facilitators: Iterable[FacilitatorSupply],
                            window_start: date, weeks: int = 12) -> list[Utilisation]:
    """Per facilitator who has not left before the window: contracted, available and committed hours
    (the load of live cohorts listing them in ``facilitator_ids``) over ``weeks`` weeks, by id."""
    mondays = week_starts(window_start, weeks)
    kept = set(mondays)
    committed: dict[str, float] = defaultdict(float)
    for cohort in cohorts:
        if cohort.live:
            load = sum(cohort.facilitator_weekly_hours for m in cohort.load_weeks() if m in kept)
            for facilitator_id in cohort.facilitator_ids:
                committed[facilitator_id] += load
    out = []
    for person in sorted(facilitators, key=lambda f: f.facilitator_id):
        if person.left_on is not None and person.left_on <= mondays[0]:
            continue
        available = sum(person.weekly_hours * available_share(person, m) for m in mondays)
        out.append(Utilisation(person.facilitator_id, person.home_pdu, tuple(sorted(person.programmes)),
                               round(person.weekly_hours * weeks, 2), round(available, 2),
                               round(committed[person.facilitator_id], 2)))
    return out


def programme_loads(catalogue: Catalogue, is_holiday: Callable[[date], bool], start: date) -> dict[str, ProgrammeLoad]:
    """Per programme, the load of one group on its fastest usual weekly pattern starting near ``start``
    (the same patterns as latest start dates, :data:`engine.domain.deadlines.PATTERNS`)."""
    out = {}
    for programme in catalogue:
        cadence = max((c for c in programme.cadences if c in PATTERNS), default=min(PATTERNS))
        slots = PATTERNS[cadence][1]
        sessions = schedule_sessions(programme, slots, _monday(start), is_holiday)
        out[programme.code] = ProgrammeLoad(
            programme.max_size, programme.facilitators_per_group, weekly_hours(programme, len(slots)),
            max(1, weeks_spanned(s.on for s in sessions if s.is_group)))
    return out


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
