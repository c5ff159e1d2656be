"""Shared plumbing of the generator: emitted events, random streams, dates and draws."""
from __future__ import annotations

import calendar
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Sequence, TypeVar

from pydantic import BaseModel

T = TypeVar("T")
IsHoliday = Callable[[date], bool]

NDELIUS = "ndelius"
MANAGE_AND_DELIVER = "manage-and-deliver"
SENTENCES_SOURCE, REFERRALS_SOURCE, DELIVERY_SOURCE = NDELIUS, MANAGE_AND_DELIVER, MANAGE_AND_DELIVER


@dataclass(frozen=True)
class Emitted:
    """One event before it gets its envelope: when, what, partition key and validated payload."""

    at: datetime
    event_type: str
    key: str
    payload: BaseModel
    source: str


def stream(seed: int, concern: str) -> random.Random:
    """An independent random stream per concern, so changing one concern never shifts another."""
    return random.Random(f"cohortplan-generator:{seed}:{concern}")


def child(rng: random.Random) -> random.Random:
    """A sub-stream (e.g. one per case) so the draws of one case never shift the next one's."""
    return random.Random(rng.getrandbits(64))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.utc)


def office_hours(rng: random.Random, day: date, first: int = 9, last: int = 17) -> datetime:
    """A random minute of the working day on ``day``."""
    return at(day, first) + timedelta(minutes=rng.randrange((last - first) * 60))


def after(moment: datetime, rng: random.Random, low_minutes: int = 1, high_minutes: int = 20) -> datetime:
    return moment + timedelta(minutes=rng.randint(low_minutes, high_minutes))


def is_working_day(day: date, is_holiday: IsHoliday) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def next_working_day(day: date, is_holiday: IsHoliday) -> date:
    while not is_working_day(day, is_holiday):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, n: int, is_holiday: IsHoliday) -> date:
    day = next_working_day(day, is_holiday)
    for _ in range(n):
        day = next_working_day(day + timedelta(days=1), is_holiday)
    return day


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(first: date, last: date) -> float:
    return (last - first).days / 30.4375


def weighted(rng: random.Random, table: Sequence[tuple[T, float]]) -> T:
    values = [v for v, _ in table]
    return rng.choices(values, weights=[w for _, w in table])[0]


def between(rng: random.Random, bounds: tuple[int, int]) -> int:
    return rng.randint(bounds[0], bounds[1])


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method for small means, a rounded normal for large ones."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def happens(rng: random.Random, rate_per_year: float, years: float) -> bool:
    """Whether an event with a constant yearly hazard occurs at least once over ``years``."""
    return rng.random() < 1 - math.exp(-rate_per_year * max(years, 0.0))


def uniform_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
