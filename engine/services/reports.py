"""The weekly planner summary the service publishes on its crontab (issue 5 adds the full HTML report).

Pure: read-side rows in, a JSON-ready dict out, so the numbers are testable without a database.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any, Iterable

from engine.services import metrics

WINDOW_WEEKS = 52


def weekly_summary(region: str, as_of: date, waitlist: Iterable[dict[str, Any]],
                   outcomes: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Waiting list by programme (and how many are already past their deadline) and, over the last
    52 weeks, the share of ended orders whose programme started in time, with median and p92 waits."""
    waiting = [row for row in waitlist if row.get("region_code") in (None, region)]
    share = metrics.start_share(outcomes, as_of - timedelta(weeks=WINDOW_WEEKS), as_of)
    return {
        "region_code": region, "as_of": as_of.isoformat(), "period_start": (as_of - timedelta(days=7)).isoformat(),
        "waiting": len(waiting),
        "waiting_by_programme": dict(sorted(Counter(row["programme_code"] for row in waiting).items())),
        "waiting_past_deadline": sum(1 for row in waiting if _date(row["deadline"]) <= as_of),
        "orders_ended_52w": share.orders_ended, "started_in_time_52w": share.started_in_time,
        "start_share_52w": round(share.share, 4),
        "median_wait_weeks": share.median_wait_weeks and round(share.median_wait_weeks, 1),
        "p92_wait_weeks": share.p92_wait_weeks and round(share.p92_wait_weeks, 1),
    }


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
