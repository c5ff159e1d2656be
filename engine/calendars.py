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
    """One year's bank holidays, built once: calendars ask about the same years thousands of times."""
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def _is_england_and_wales_bank_holiday(day: date) -> bool:
    return day in _england_and_wales_year(day.year)


def england_and_wales_bank_holidays() -> Callable[[date], bool]:
    """``is_holiday`` for England and Wales, covering whatever year it is asked about."""
    return _is_england_and_wales_bank_holiday
