"""The candidate grid: cohorts the plan may open, programme × venue × track × start week over the horizon.

The delivery team's planned cohorts are candidates already; the grid adds the ones nobody has
planned yet, so the solver can open a group where and when the waiting list needs it. A grid cell is
offered only where it could run: a variant (programme, pathway, offence cohort, LDC, sex) with at
least a minimum group's worth of people waiting, a venue with group rooms that enough of them can
reach, and a track (daytime or evening) enough of them can attend; with ``Grid.staffed``, also enough
facilitators trained for the programme who work at the venue and can attend the track to staff a group.
With ``Grid.stagger``, a rare variant (one whose waiting list widens the grid's step) has its tracks
start on staggered weeks, so that its few candidates spread over the horizon instead of all starting
together: a person whose deadline falls between two of its start weeks then still finds a group. Ids
are stable across plans, so the plan diff and the hints of the next plan recognise the same candidate.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from engine.domain.calendar import (
    WeeklySlot,
    schedule_sessions,
    weekly_patterns,
    weeks_spanned,
)
from engine.domain.model import Cohort, Office
from engine.domain.programmes import Catalogue, Programme
from solver import schema as s
from solver.rules import available_on, can_run, office_allowed

Variant = tuple[str, str, str, bool, str]  # programme, pathway, offence cohort, LDC, group sex


@dataclass(frozen=True)
class Grid:
    """Where and when the plan may open cohorts nobody has planned yet."""

    step_weeks: int = 4                           # a start every this many weeks per venue and track
    offer_ratio: float = 2.0                      # at most this many cohorts per variant's worth of groups
    # One daytime start by default: offering afternoon groups too (13:30) spread the same candidate budget
    # over twice the slot patterns and did worse in the closed loop (BENCHMARKS.md, 3 seeds).
    daytime_starts: tuple[str, ...] = ("10:00",)
    evening_start: str = "18:00"
    # Evening groups per week where the programme allows two (Monday with Wednesday, Tuesday with Thursday), so
    # that people who can only come in the evening finish in about half the weeks. Twice: in the closed loop at
    # 6 s per plan CP-SAT started 8–14 more people in time on each of five seeds than with evening groups once a
    # week (BENCHMARKS.md, issue 14, session 10).
    evenings_per_week: int = 2
    # A variant too few wait for to make the programme's usual minimum at any track (a women's or LDC group, say)
    # is offered groups that open at the programme's hard minimum (CALIBRATION: 6, hard minimum 4). On: in the
    # closed loop at 6 s per plan CP-SAT started +13, −1, +4, +3 and +1 people in time on five seeds, women +9 in
    # all (BENCHMARKS.md, issue 14, session 10).
    rare_at_hard_minimum: bool = True
    # A rare variant (one whose waiting list widens the step past step_weeks) is also offered its best track per
    # period (staffable at the venue first, then the most of its people) at every later step across the horizon:
    # the widened step leaves a 52-week horizon one start week, the first, when evening staff are usually busy,
    # so women who can only come in the evening waited a year with no group offered. Off: in the closed loop at
    # the sized budget, with the later starts planned second and priced (COHORTPLAN_EXTRA_OPEN_COST=2), CP-SAT
    # started -14, +25, -5, +14 and +12 people in time on seeds 7-11, women and LDC people at or above current
    # practice on all five, but with 1.3-3.2 times the changes to published places (BENCHMARKS.md, issue 14,
    # sessions 11 and 12). The candidates it adds are marked extra (solver.model plans without them first).
    rare_every_step: bool = False
    group_weekdays: tuple[int, ...] = (0, 1, 2, 3)
    lead_days: int = 14                           # nothing starts inside the freeze window
    # Look-ahead for rare variants (0: off): a track too few wait for is still offered once when the people
    # waiting plus the variant's forecast arrivals before its start reach the minimum, the forecast being the
    # variant's referrals over the last lookahead_weeks (only what the plan knows); the forecast may make up at
    # most lookahead_share of the minimum, the rest must be placed now (see lookahead_cohorts).
    lookahead_weeks: int = 0
    lookahead_share: float = 0.5
    # A rare variant's tracks (its step widened past step_weeks) start on staggered weeks: track i of n at
    # offset i × step ÷ n. Off: in the closed loop at 6 s per plan it started +5, +8 and −15 people in time on
    # seeds 7, 8 and 9, and at the demo's budget 4 fewer with 1,460 changes to published places against 911
    # (BENCHMARKS.md, issue 14, session 6).
    stagger: bool = False
    # Offer a track only where enough trained facilitators work and can attend it. Off: in the closed loop it
    # started 43 fewer people in time on seed 7 and 4 more on seed 8 (BENCHMARKS.md, issue 14, session 6).
    staffed: bool = False


Track = tuple[int, Office, list[tuple[WeeklySlot, ...]]]  # (venue index, venue, its slot patterns for one period)


def grid_cohorts(region: str, as_of: date, horizon_weeks: int, demands: Sequence[s.Demand],
                 offices: Iterable[Office], catalogue: Catalogue, is_holiday: Callable[[date], bool],
                 grid: Grid, staff: Sequence[s.Facilitator] | None = None) -> list[Cohort]:
    """The grid's candidates; with ``grid.staffed``, only on tracks ``staff`` (the region's facilitators) could
    run."""
    return grid_offer(region, as_of, horizon_weeks, demands, offices, catalogue, is_holiday, grid, staff)[0]


def grid_offer(region: str, as_of: date, horizon_weeks: int, demands: Sequence[s.Demand],
               offices: Iterable[Office], catalogue: Catalogue, is_holiday: Callable[[date], bool],
               grid: Grid, staff: Sequence[s.Facilitator] | None = None) -> tuple[list[Cohort], frozenset[str]]:
    """(the grid's candidates, the ids of those only ``grid.rare_every_step`` offers: beyond the grid's budget,
    which the solver plans without first)."""
    venues = sorted((o for o in offices if o.rooms > 0), key=lambda o: o.office_code)
    first = _monday(as_of + timedelta(days=grid.lead_days + 7))
    out: dict[str, Cohort] = {}
    extra: set[str] = set()
    for variant, waiting in sorted(_variants(demands).items()):
        programme = catalogue.get(variant[0])
        minimum, tracks = _tracks(grid, programme, waiting, venues)
        step = _step(grid, len(waiting), minimum, len(tracks), horizon_weeks)
        # the budget is the waiting list's; tracks nobody could staff are dropped from it, not re-spent
        tracks = [t for t in tracks if _staffed(grid, staff, programme, t[1], t[2][0])]
        widened = step > grid.step_weeks  # a rare variant: fewer starts than the grid's step would give
        stagger = grid.stagger and widened  # its few starts spread over time

        def offer(venue: Office, slots: tuple[WeeklySlot, ...], week: int, beyond: bool = False) -> None:
            start = first + timedelta(weeks=week, days=slots[0].weekday)
            cohort = _cohort(region, variant, venue, slots, start, programme, is_holiday, minimum)
            if cohort.cohort_id not in out:
                out[cohort.cohort_id] = cohort
                if beyond:
                    extra.add(cohort.cohort_id)

        for n, week in enumerate(range(0, horizon_weeks, step)):
            for i, (v, venue, patterns) in enumerate(tracks):
                offset = i * step // len(tracks) if stagger else 0
                if week + offset < horizon_weeks:
                    offer(venue, patterns[(n + v) % len(patterns)], week + offset)
        # with rare_every_step, a rare variant's best track per period also starts at every later step (its first
        # week has them all)
        later = _best_per_period(tracks, waiting, staff, programme) if grid.rare_every_step and widened else []
        for n, week in enumerate(range(grid.step_weeks, horizon_weeks, grid.step_weeks) if later else ()):
            for v, venue, patterns in later:
                offer(venue, patterns[(n + 1 + v) % len(patterns)], week, beyond=True)
    return list(out.values()), frozenset(extra)


def _tracks(grid: Grid, programme: Programme, waiting: list[s.Demand],
            venues: list[Office]) -> tuple[int, list[Track]]:
    """(the minimum its groups open with, the tracks) of a variant: every venue × daytime/evening enough of its
    waiting people can attend to make the programme's minimum; with ``grid.rare_at_hard_minimum``, a variant too
    few wait for to make that minimum at any track gets the tracks that make the programme's hard minimum."""
    patterns = {period: _patterns(programme, period, grid) for period in ("DAYTIME", "EVENING")}
    minima = (programme.min_size, programme.hard_min_size) if grid.rare_at_hard_minimum else (programme.min_size,)
    for minimum in minima:
        tracks = [(v, venue, patterns[period]) for v, venue in enumerate(venues) for period in patterns
                  if _enough(waiting, venue, patterns[period][0], minimum)]
        if tracks:
            return minimum, tracks
    return programme.min_size, []


def lookahead_cohorts(region: str, as_of: date, horizon_weeks: int, demands: Sequence[s.Demand],
                      offices: Iterable[Office], catalogue: Catalogue, is_holiday: Callable[[date], bool],
                      grid: Grid, arrivals: Mapping[Variant, int],
                      staff: Sequence[s.Facilitator] | None = None) -> list[tuple[Cohort, int]]:
    """(cohort, expected joiners) the grid leaves out for want of people waiting now, opened for the future.

    For each variant and track (venue × daytime/evening) that :func:`grid_cohorts` does not offer, the
    compatible people waiting now are counted, and the arrivals expected before a start: the variant's
    referrals over the last ``grid.lookahead_weeks`` (``arrivals``) per week × the share of its waiting people
    who can attend the track × the weeks until the start's freeze. The track is offered once, at its earliest
    start where those waiting plus the expected joiners (at most ``lookahead_share`` of the minimum) reach the
    minimum. The plan must place the rest now: the cohort's minimum is lowered by the expected joiners only,
    and once opened, its facilitators' weeks are the group's.
    """
    venues = sorted((o for o in offices if o.rooms > 0), key=lambda o: o.office_code)
    first = _monday(as_of + timedelta(days=grid.lead_days + 7))
    out = []
    for variant, waiting in sorted(_variants(demands).items()):
        rate = arrivals.get(variant, 0) / max(1, grid.lookahead_weeks)
        programme = catalogue.get(variant[0])
        allowed = int(programme.min_size * grid.lookahead_share)
        if rate <= 0 or allowed <= 0:
            continue
        offered = {(v, patterns[0]) for v, _, patterns in _tracks(grid, programme, waiting, venues)[1]}
        for v, venue in enumerate(venues):
            for period in ("DAYTIME", "EVENING"):
                patterns = _patterns(programme, period, grid)
                compatible = _compatible(waiting, venue, patterns[0])
                if (v, patterns[0]) in offered or compatible < programme.min_size - allowed:
                    continue  # offered by the grid already, or too few now for the forecast to make up
                if not _staffed(grid, staff, programme, venue, patterns[0]):
                    continue
                for week in range(horizon_weeks):
                    slots = patterns[(week + v) % len(patterns)]
                    start = first + timedelta(weeks=week, days=slots[0].weekday)
                    weeks = (start - timedelta(days=grid.lead_days) - as_of).days / 7
                    expected = min(allowed, int(rate * compatible / len(waiting) * weeks))
                    if compatible + expected >= programme.min_size:
                        out.append((_cohort(region, variant, venue, slots, start, programme, is_holiday,
                                            programme.min_size), expected))
                        break
    return out


def _compatible(waiting: list[s.Demand], venue: Office, slots: tuple[WeeklySlot, ...]) -> int:
    return sum(1 for d in waiting if office_allowed(d, venue.office_code) and available_on(d.availability, slots))


def _enough(waiting: list[s.Demand], venue: Office, slots: tuple[WeeklySlot, ...], min_size: int) -> bool:
    """Enough of the variant's waiting people can reach the venue and attend the track to fill a group."""
    return _compatible(waiting, venue, slots) >= min_size


def _staffed(grid: Grid, staff: Sequence[s.Facilitator] | None, programme: Programme, venue: Office,
             slots: tuple[WeeklySlot, ...]) -> bool:
    """Enough facilitators trained for the programme work at the venue and can attend the track's slots to
    run a group (absences and hours are the plan's to weigh); every track when the grid is not ``staffed``."""
    return not grid.staffed or _can_staff(staff, programme, venue, slots)


def _can_staff(staff: Sequence[s.Facilitator] | None, programme: Programme, venue: Office,
               slots: tuple[WeeklySlot, ...]) -> bool:
    """Enough of ``staff`` (None: not known, so yes) could run a group of the programme at the venue on the slots."""
    if staff is None:
        return True
    return sum(can_run(f, programme.code, venue.office_code, slots) for f in staff) >= programme.facilitators_per_group


def _best_per_period(tracks: list[Track], waiting: list[s.Demand], staff: Sequence[s.Facilitator] | None,
                     programme: Programme) -> list[Track]:
    """A rare variant's track per period (daytime, evening): the one whose venue has enough facilitators trained
    for the programme who can attend it, then the one most of its waiting people can attend, then venue order."""
    def rank(track: Track) -> tuple[bool, int, int]:
        v, venue, patterns = track
        return (not _can_staff(staff, programme, venue, patterns[0]), -_compatible(waiting, venue, patterns[0]), v)
    best: dict[str, Track] = {}
    for track in sorted(tracks, key=rank):
        best.setdefault(track[2][0][0].period, track)
    return sorted(best.values(), key=lambda t: t[0])


def _step(grid: Grid, waiting: int, minimum: int, tracks: int, horizon_weeks: int) -> int:
    """Weeks between starts for a variant: the grid's step, widened so that the cohorts offered stay
    within offer_ratio times the groups of ``minimum`` its waiting list could fill."""
    budget = max(1.0, grid.offer_ratio * waiting / minimum)
    step = grid.step_weeks
    while tracks * -(-horizon_weeks // step) > budget and step < horizon_weeks:
        step += 1
    return step


def variant_of(programme_code: str, pathway: str, offence_cohort: str, ldc: bool, sex: str) -> Variant:
    return programme_code, pathway, offence_cohort, ldc, sex if sex in ("MALE", "FEMALE") else "MIXED"


def _variants(demands: Sequence[s.Demand]) -> dict[Variant, list[s.Demand]]:
    grouped: dict[Variant, list[s.Demand]] = {}
    for d in demands:
        grouped.setdefault(variant_of(d.programme_code, d.pathway, d.offence_cohort, d.ldc, d.sex), []).append(d)
    return grouped


def _patterns(programme: Programme, period: str, grid: Grid) -> list[tuple[WeeklySlot, ...]]:
    """The track's weekly patterns, start times alternating first, so that neighbouring venues and
    start weeks in the rotation differ in time of day before they differ in weekday."""
    starts = grid.daytime_starts if period == "DAYTIME" else (grid.evening_start,)
    # start-major
    by_start = weekly_patterns(programme, period, grid.group_weekdays, starts, grid.evenings_per_week)
    days = len(by_start) // len(starts)
    return [by_start[n * days + k] for k in range(days) for n in range(len(starts))]


def _cohort(region: str, variant: Variant, venue: Office, slots: tuple[WeeklySlot, ...], start: date,
            programme: Programme, is_holiday: Callable[[date], bool], minimum: int) -> Cohort:
    code, pathway, offence, ldc, sex = variant
    end, weeks, group_start = _calendar(programme, slots, start, is_holiday)
    track = "D" if slots[0].period == "DAYTIME" else "E"
    cohort_id = (f"{region}-G-{code}-{pathway[0]}{offence[0]}{'L' if ldc else ''}{sex[0]}-"
                 f"{venue.office_code}-{track}{''.join(str(x.weekday) for x in slots)}-{start:%Y%m%d}")
    return Cohort(cohort_id, region, code, venue.office_code, venue.pdu_code, slots, start, end, weeks,
                  pathway, sex, offence, ldc, minimum, programme.max_size, origin="PLAN",
                  group_start=group_start)


@lru_cache(maxsize=8192)
def _calendar(programme: Programme, slots: tuple[WeeklySlot, ...], start: date,
              is_holiday: Callable[[date], bool]) -> tuple[date, int, date]:
    sessions = schedule_sessions(programme, slots, start, is_holiday)
    group_days = [x.on for x in sessions if x.is_group]
    return sessions[-1].on, weeks_spanned(group_days), min(group_days, default=start)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
