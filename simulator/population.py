"""Who arrives: Poisson court arrivals over the horizon, and the backlog already there at t0.

Arrivals come on court days (weekdays that are not bank holidays) at ``requirements_per_year ×
scale`` a year, shaped by monthly seasonality. The backlog is the same process run over the
``backlog_months`` before t0, keeping cases whose orders still run: those ready longest are the
likeliest to have started a programme before t0 (and so to be absent), with
``backlog_mean_wait_months`` as the mean wait.
"""
from __future__ import annotations

import math
import random
from datetime import date, timedelta
from functools import cache

from simulator.cases import Case, new_case
from simulator.clock import Emitted, IsHoliday, add_months, child, is_working_day, poisson
from simulator.life import add_life
from simulator.people import Ids
from simulator.region import World

BACKLOG_OFFSET = timedelta(minutes=10)  # after facilitators are registered at t0
BACKLOG_SPAN = timedelta(minutes=30)  # the whole backlog replays within this window
MAX_BACKLOG_STEP = timedelta(seconds=1)


def court_day_rates(world: World, first: date, last: date) -> list[tuple[date, float]]:
    """Expected new requirements on each court day from ``first`` to ``last`` inclusive."""
    p = world.params
    mean_factor = sum(p.seasonality) / 12
    per_year = p.requirements_per_year * p.scale
    days, day = [], first
    while day <= last:
        if is_working_day(day, world.is_holiday):
            factor = p.seasonality[day.month - 1] / mean_factor
            days.append((day, per_year * factor / _court_days(day.year, world.is_holiday)))
        day += timedelta(days=1)
    return days


@cache
def _court_days(year: int, is_holiday: IsHoliday) -> int:
    day, count = date(year, 1, 1), 0
    while day.year == year:
        count += is_working_day(day, is_holiday)
        day += timedelta(days=1)
    return count


def arrivals(world: World, ids: Ids, rng: random.Random, first: date, last: date,
             recent: dict[str, list[str]]) -> list[Case]:
    cases = []
    for day, rate in court_day_rates(world, first, last):
        for _ in range(poisson(rng, rate)):
            cases.append(new_case(child(rng), world, ids, day, recent))
    return cases


def horizon_cases(world: World, ids: Ids, rng: random.Random, recent: dict[str, list[str]]) -> list[Case]:
    cases = arrivals(world, ids, rng, world.start, world.end.date() - timedelta(days=1), recent)
    for case in cases:
        add_life(world, ids, case)
    return cases


def backlog_candidates(world: World, ids: Ids, rng: random.Random, recent: dict[str, list[str]]) -> list[Case]:
    """Cases sentenced in the backlog window whose orders still run at t0 (no later history yet)."""
    first = add_months(world.start, -world.params.backlog_months)
    cases = arrivals(world, ids, rng, first, world.start - timedelta(days=1), recent)
    return [c for c in cases if c.end > world.start]


def settle_backlog(world: World, ids: Ids, rng: random.Random, cases: list[Case],
                   members: set[str]) -> list[Case]:
    """Add later history and keep who is still in the system at t0; running-cohort members stay."""
    kept = []
    for case in cases:
        if case.referral_id in members:
            kept.append(case)
            continue
        add_life(world, ids, case)
        survives = rng.random() < _still_waiting(world, case)
        if survives and (case.ends_at is None or case.ends_at >= world.t0):
            kept.append(case)
    return kept


def _still_waiting(world: World, case: Case) -> float:
    """Chance a case ready before t0 has not started a programme by t0 (exponential wait)."""
    if case.ready_at is None or case.ready_at >= world.t0:
        return 1.0
    months = (world.t0 - case.ready_at).days / 30.4375
    return math.exp(-months / world.params.backlog_mean_wait_months)


def replay_at_t0(world: World, cases: list[Case]) -> list[Emitted]:
    """Every event of the backlog, the past ones re-timed into a short window just after t0.

    Past events keep their order (by when they happened) so the engine replays history; their
    payload dates stay in the past.
    """
    past: list[tuple[object, int, Emitted]] = []
    future: list[Emitted] = []
    for order, case in enumerate(cases):
        for event in case.emitted():
            if event.at < world.t0:
                past.append((event.at, order, event))
            else:
                future.append(event)
    past.sort(key=lambda item: (item[0], item[1]))
    step = min(MAX_BACKLOG_STEP, BACKLOG_SPAN / max(1, len(past)))
    step = timedelta(microseconds=max(1, step // timedelta(microseconds=1)))
    start = world.t0 + BACKLOG_OFFSET
    return [Emitted(start + n * step, e.event_type, e.key, e.payload, e.source)
            for n, (_, _, e) in enumerate(past)] + future
