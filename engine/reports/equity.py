"""Equity: waits, starts, forecast misses and realised starts in time by sex, ethnicity group, LDC and PDU,
differences flagged.

A group is flagged when its forecast miss rate differs from the region's by more than
``MISS_RATE_POINTS`` percentage points, its median wait by more than ``WAIT_WEEKS`` weeks, or — what
already happened — its share of orders ended in the last 52 weeks that started in time trails the
region's by more than ``STARTED_POINTS`` points (the closed loop's public measure,
:func:`engine.services.metrics.counted` and ``started_in_time``; the 52 weeks before are its trend). A
group with fewer than ``SMALL_GROUP`` people behind a measure is never flagged on it: the report says it
is too small to compare instead (a difference between a handful of people is noise, and naming it would
point at individuals).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from engine.reports.data import ReferralFact, ReportData
from engine.reports.sections import median_of, miss_week, open_referral, starts_between, wait_weeks, weeks_back
from engine.services.metrics import counted, started_in_time

MISS_RATE_POINTS = 10.0
WAIT_WEEKS = 4.0
STARTED_POINTS = 10.0
SMALL_GROUP = 10
YEAR = timedelta(weeks=52)

DIMENSIONS: tuple[tuple[str, Callable[[ReferralFact], str]], ...] = (
    ("sex", lambda f: f.sex or "not recorded"),
    ("ethnicity group", lambda f: f.ethnicity_group or "not recorded"),
    ("LDC", lambda f: "LDC" if f.ldc else "not LDC"),
    ("PDU", lambda f: f.pdu_code or "not recorded"),
)


def equity(data: ReportData) -> list[dict[str, Any]]:
    """One row for the region ("all") and one per group of each dimension."""
    as_of = data.as_of
    opened = [f for f in data.referrals if open_referral(f, as_of)]
    missing = {f.referral_id for f in opened if miss_week(f, data) is not None}
    started = starts_between(data, weeks_back(as_of)[0], as_of)
    waiting = [f for f in data.referrals if f.waiting]
    ended = _ended(data.referrals, as_of - YEAR, as_of)
    before = _ended(data.referrals, as_of - 2 * YEAR, as_of - YEAR)
    overall = _measures(opened, missing, started, waiting) | _realised(ended, before, as_of)
    rows = [dict(dimension="all", group="all", **overall, miss_rate_diff_points=None, wait_diff_weeks=None,
                 started_diff_points=None, assessment="")]
    for name, group_of in DIMENSIONS:
        for group in sorted({group_of(f) for f in (*opened, *started, *waiting, *ended)}):
            def mine(facts, g=group):
                return [f for f in facts if group_of(f) == g]
            measures = _measures(mine(opened), missing, mine(started), mine(waiting)) | _realised(
                mine(ended), mine(before), as_of)
            rows.append(dict(dimension=name, group=group, **measures, **_compare(measures, overall)))
    return rows


def _measures(opened: list[ReferralFact], missing: set[str], started: list[ReferralFact],
              waiting: list[ReferralFact]) -> dict[str, Any]:
    misses = sum(1 for f in opened if f.referral_id in missing)
    return dict(open_referrals=len(opened), waiting=len(waiting), starts_26w=len(started),
                median_wait_weeks=median_of([wait_weeks(f) for f in started]), forecast_misses_26w=misses,
                miss_rate_pct=round(100 * misses / len(opened), 1) if opened else None)


def _ended(referrals, after: date, until: date) -> list[ReferralFact]:
    """Orders that ended in ``(after, until]`` and count in the measure (not cut short)."""
    return [f for f in referrals if f.deadline is not None and after < f.deadline <= until
            and counted(f.measure_row(), date.min, until)]


def _realised(ended: list[ReferralFact], before: list[ReferralFact], as_of: date) -> dict[str, Any]:
    def pct(facts: list[ReferralFact]) -> float | None:
        return round(100 * sum(started_in_time(f.measure_row(), as_of) for f in facts) / len(facts), 1) \
            if facts else None
    now, then = pct(ended), pct(before)
    return dict(orders_ended_52w=len(ended), started_in_time_pct=now, started_year_before_pct=then,
                started_trend_points=round(now - then, 1) if now is not None and then is not None else None)


def _compare(group: dict[str, Any], overall: dict[str, Any]) -> dict[str, Any]:
    notes, diff_points, diff_weeks, started_diff = [], None, None, None
    if group["open_referrals"] < SMALL_GROUP:
        notes.append(f"too few open referrals to compare miss rate (n={group['open_referrals']} < {SMALL_GROUP})")
    elif overall["miss_rate_pct"] is not None:
        diff_points = round(group["miss_rate_pct"] - overall["miss_rate_pct"], 1)
        if abs(diff_points) > MISS_RATE_POINTS:
            notes.append(f"DIFFERS: miss rate {diff_points:+.1f} points from the region's")
    if group["starts_26w"] < SMALL_GROUP:
        notes.append(f"too few starts to compare waits (n={group['starts_26w']} < {SMALL_GROUP})")
    elif overall["median_wait_weeks"] is not None:
        diff_weeks = round(group["median_wait_weeks"] - overall["median_wait_weeks"], 1)
        if abs(diff_weeks) > WAIT_WEEKS:
            notes.append(f"DIFFERS: median wait {diff_weeks:+.1f} weeks from the region's")
    if group["orders_ended_52w"] < SMALL_GROUP:
        notes.append(f"too few orders ended to compare starts in time (n={group['orders_ended_52w']} < {SMALL_GROUP})")
    elif overall["started_in_time_pct"] is not None:
        started_diff = round(group["started_in_time_pct"] - overall["started_in_time_pct"], 1)
        if started_diff < -STARTED_POINTS:
            notes.append(f"DIFFERS: started in time {started_diff:+.1f} points from the region's")
    return dict(miss_rate_diff_points=diff_points, wait_diff_weeks=diff_weeks, started_diff_points=started_diff,
                assessment="; ".join(notes))


def trailing_groups(referrals: Iterable[ReferralFact], as_of: date, points: float,
                    dimensions: Iterable[str] = ("sex", "LDC")) -> dict[str, set[str]]:
    """Dimension → the groups whose realised in-time share (orders ended in the last 52 weeks, as in the
    report's rows) trails the region's by more than ``points``; groups of fewer than ``SMALL_GROUP`` orders
    ended are never named. What the report flags at ``STARTED_POINTS``, for the plan's equity weight."""
    ended = _ended(list(referrals), as_of - YEAR, as_of)
    overall = _realised(ended, [], as_of)["started_in_time_pct"]
    out: dict[str, set[str]] = {}
    for name, group_of in DIMENSIONS:
        if name not in dimensions or overall is None:
            continue
        for group in sorted({group_of(f) for f in ended}):
            mine = [f for f in ended if group_of(f) == group]
            if len(mine) >= SMALL_GROUP and _realised(mine, [], as_of)["started_in_time_pct"] < overall - points:
                out.setdefault(name, set()).add(group)
    return out


def flagged(row: dict[str, Any]) -> bool:
    return "DIFFERS" in row["assessment"]


def small(row: dict[str, Any]) -> bool:
    return "too few" in row["assessment"]
