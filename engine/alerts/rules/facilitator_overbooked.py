"""A facilitator booked beyond contracted hours in some week, or on two groups at the same time.

Load counts delivery plus preparation for every group the facilitator is assigned to (planned,
confirmed or running) in the weeks its group sessions run (as the solver counts it), week by week
over the next ``overbooked_weeks``. A clash is two such groups
whose dates overlap and whose sessions overlap on the same weekday: CRITICAL, as one must move.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import combinations

from engine.alerts.inputs import RUNNING, UPCOMING, AlertInputs, CohortView
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "facilitator.overbooked"
SCOPE = "region"
_TOLERANCE_HOURS = 0.01


def weekly_load(cohorts: list[CohortView], weeks: list[date]) -> dict[date, float]:
    return {w: round(sum(c.weekly_hours for c in cohorts if c.group_start <= w + timedelta(days=6)
                         and c.load_end >= w), 2) for w in weeks}


def clash(a: CohortView, b: CohortView) -> tuple[date, int, str] | None:
    """(first day both run group sessions, weekday, time) of the first overlapping session pair, if any."""
    start, end = max(a.group_start, b.group_start), min(a.load_end, b.load_end)
    if start > end:
        return None
    for wa, ta, _ in a.slots:
        for wb, tb, _ in b.slots:
            if wa == wb and _overlap(ta, a.session_minutes, tb, b.session_minutes):
                return start, wa, min(ta, tb)
    return None


def _overlap(t1: str, m1: int, t2: str, m2: int) -> bool:
    s1, s2 = _minutes(t1), _minutes(t2)
    return s1 < s2 + m2 and s2 < s1 + m1


def _minutes(hhmm: str) -> int:
    at = datetime.strptime(hhmm, "%H:%M")
    return at.hour * 60 + at.minute


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    today, out = inputs.today, []
    monday = today - timedelta(days=today.weekday())
    weeks = [monday + timedelta(weeks=k) for k in range(thresholds.overbooked_weeks)]
    horizon = weeks[-1] + timedelta(days=6)
    booked: dict[str, list[CohortView]] = {}
    for c in inputs.cohorts:
        if c.status in UPCOMING | RUNNING and c.load_end >= today and c.start_date <= horizon:
            for fid in c.facilitator_ids:
                booked.setdefault(fid, []).append(c)
    for fid, cohorts in sorted(booked.items()):
        f = inputs.facilitator(fid)
        if f is None or not f.in_post(today):
            continue
        load = weekly_load(cohorts, weeks)
        peak_week = max(weeks, key=lambda w: (load[w], -w.toordinal()))
        over = load[peak_week] > f.weekly_hours + _TOLERANCE_HOURS
        clashes = sorted((found, a.cohort_id, b.cohort_id) for a, b in combinations(
            sorted(cohorts, key=lambda c: c.cohort_id), 2) if (found := clash(a, b)))
        if not over and not clashes:
            continue
        parts, dates = [], []
        if over:
            first_over = next(w for w in weeks if load[w] > f.weekly_hours + _TOLERANCE_HOURS)
            dates.append(first_over)
            parts.append(f"{load[peak_week]:g} h booked in the week of {peak_week} against {f.weekly_hours:g} h "
                         f"contracted (over from {first_over})")
        if clashes:
            (start, weekday, at), a, b = clashes[0]
            dates.append(start)
            parts.append(f"cohorts {a} and {b} clash on {_DAYS[weekday]} {at} from {start}"
                         + (f" (+{len(clashes) - 1} more)" if len(clashes) > 1 else ""))
        act_by = max(today, min(dates))
        out.append(Alert(
            KIND, Severity.CRITICAL if clashes else Severity.WARNING, "facilitator", fid, inputs.region_code,
            "; ".join(parts), act_by=act_by, pdu_code=f.home_pdu, key=fid,
            numbers={"peak_hours": load[peak_week], "contracted_hours": f.weekly_hours, "clashes": len(clashes)}))
    return out


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def cleared(row: dict, inputs: AlertInputs) -> str:
    f = inputs.facilitator(row["subject_id"])
    if f is None or not f.in_post(inputs.today):
        return "facilitator no longer in post"
    return f"bookings now within {f.weekly_hours:g} h a week and without clashes"
