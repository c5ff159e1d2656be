"""Outcome measures a planner recognises, computed from read-side rows (no database access here)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any, Iterable

from solver.evaluate import percentile

# Closed before the order ended for reasons outside programme delivery: not counted, as in the
# public figure (programmes imposed on orders that ended successfully).
_EXCLUDED_REQUIREMENT = "TERMINATED"


@dataclass(frozen=True)
class StartShare:
    orders_ended: int
    started_in_time: int
    share: float
    median_wait_weeks: float | None
    p92_wait_weeks: float | None = None


def start_share(rows: Iterable[dict[str, Any]], window_start: date, as_of: date) -> StartShare:
    """Share of requirements whose orders ended in the window that started a programme before the end.

    Counted: referrals made in the window whose deadline has passed by ``as_of`` and whose requirement
    was not terminated early (revocation, recall to custody). Started: attended a first session, or
    held a place on a cohort that began on or before both the deadline and ``as_of``.
    """
    ended = started = 0
    waits = []
    for row in rows:
        if not counted(row, window_start, as_of):
            continue
        ended += 1
        if started_in_time(row, as_of):
            started += 1
            if row.get("cohort_start"):
                waits.append((_d(row["cohort_start"]) - _d(row["referred_on"])).days / 7)
    return StartShare(ended, started, started / ended if ended else 0.0, median(waits) if waits else None,
                      percentile(waits, 92) if waits else None)


def counted(row: dict[str, Any], window_start: date, as_of: date) -> bool:
    """In the measure: referred in the window, deadline passed by ``as_of``, not terminated early."""
    if _d(row["referred_on"]) < window_start or _d(row["deadline"]) > as_of:
        return False
    return not (row["requirement_status"] == _EXCLUDED_REQUIREMENT and row["status"] != "PROGRAMME_COMPLETE")


def started_in_time(row: dict[str, Any], as_of: date) -> bool:
    """Attended a first session, or holds a place on a cohort that began by the deadline and ``as_of``."""
    cohort_start = _d(row["cohort_start"]) if row.get("cohort_start") else None
    return bool(row["ever_on_programme"] or (cohort_start and cohort_start <= min(_d(row["deadline"]), as_of)))


def finishing_in_time(rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(allocated, of which the cohort ends on or before the deadline) over current allocations."""
    allocated = in_time = 0
    for row in rows:
        if row.get("cohort_end") is None:
            continue
        allocated += 1
        in_time += _d(row["cohort_end"]) <= _d(row["deadline"])
    return allocated, in_time


def _d(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
