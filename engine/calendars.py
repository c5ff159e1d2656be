"""Real-world holiday calendars, adapted to the domain's ``is_holiday`` callable.

The domain stays standard-library only; this adapter is where the ``holidays`` package is used.
England and Wales share one set of bank holidays, which is what probation regions in scope observe.
"""
from __future__ import annotations

from datetime import date
from functools import cache
from typing import Callable

import holidays

__all__ = ["england_and_wales_bank_holidays"]


@cache
def _england_and_wales_year(year: int) -> frozenset[date]:
    """One year's bank holidays, built once: calendars ask about the same years thousands of times.

    Weekdays only. When a holiday falls on a weekend the bank holiday is its substitute weekday (Boxing
    Day on Saturday 26 December 2026 gives Monday 28 December), and that is what the gov.uk list has.
    The ``holidays`` package also lists the nominal weekend date ("Boxing Day", next to "Boxing Day
    (observed)"); counted as a holiday, it would skip a weekend slot's session on a day that is no bank
    holiday. Only Christmas, Boxing and New Year's Day ever land on a weekend, always with a substitute.
    """
    return frozenset(day for day in holidays.country_holidays("GB", subdiv="ENG", years=year)
                     if day.weekday() < 5)


def _is_england_and_wales_bank_holiday(day: date) -> bool:
    return day in _england_and_wales_year(day.year)


def england_and_wales_bank_holidays() -> Callable[[date], bool]:
    """``is_holiday`` for England and Wales, covering whatever year it is asked about."""
    return _is_england_and_wales_bank_holiday
