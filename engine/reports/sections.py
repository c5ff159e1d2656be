"""The report's numbers, section by section: pure functions of :class:`ReportData` returning plain rows.

Weeks are Monday to Sunday. "This week" is the week of the as-of date: what happened on or before
the as-of date is history (starts, waits), what happens after it is forecast (starts, misses).
Every row is a dict of plain values that goes unchanged into both the CSV and the HTML table.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from statistics import median
from typing import Any, Iterable

from engine.reports.data import ReferralFact, ReportData
from engine.domain import capacity as cap
from solver.evaluate import percentile

HORIZON_WEEKS = 26      # forecast and capacity windows
TREND_WEEKS = 26        # wait history
ROLLING_WEEKS = 4       # wait trend smoothing (the first weeks of the window use what they have)
UTILISATION_WEEKS = 12

Row = dict[str, Any]


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_ahead(as_of: date, weeks: int = HORIZON_WEEKS) -> list[date]:
    """Mondays of the forecast window: this week first."""
    return cap.week_starts(as_of, weeks)


def weeks_back(as_of: date, weeks: int = TREND_WEEKS) -> list[date]:
    """Mondays of the history window, oldest first, this week last."""
    this = monday(as_of)
    return [this - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


# 1. Waiting list -------------------------------------------------------------------------------------
def past_deadline(f: ReferralFact, as_of: date) -> bool:
    return f.deadline is not None and f.deadline <= as_of


def at_risk(f: ReferralFact, as_of: date, weeks: int) -> bool:
    """Waiting, and the latest start that still finishes in time is ahead but within ``weeks`` (the
    ``deadline.at_risk`` alert, on the waiting list, with the alert's threshold)."""
    return f.waiting and f.deadline is not None and f.deadline > as_of and f.latest_start is not None \
        and f.latest_start <= as_of + timedelta(weeks=weeks)


def cannot_finish(f: ReferralFact, as_of: date) -> bool:
    """Waiting, the order has not ended, but no start left finishes in time (the ``deadline.missed``
    alert, before the deadline itself has passed)."""
    return f.waiting and f.deadline is not None and f.deadline > as_of and f.latest_start is None


def urgency(f: ReferralFact) -> tuple[date, str]:
    """The order of the at-risk list (and the API's waiting list): the latest start soonest first, those
    with no start left before them, then by referral id."""
    return (f.latest_start or date.min, f.referral_id)


def waiting_list(data: ReportData) -> dict[str, list[Row]]:
    """Counts by programme and by programme × PDU, and the at-risk people (crn and ids only)."""
    waiting = [f for f in data.referrals if f.waiting]
    return {
        "by_programme": _waiting_rows(waiting, data, lambda f: (f.programme_code,), ("programme",)),
        "by_pdu": _waiting_rows(waiting, data, lambda f: (f.programme_code, f.pdu_code), ("programme", "pdu")),
        "at_risk": [dict(referral_id=f.referral_id, crn=f.crn, programme=f.programme_code, pdu=f.pdu_code,
                         deadline=f.deadline, latest_start=f.latest_start,
                         weeks_to_latest_start=_weeks(f.latest_start - data.as_of) if f.latest_start else None)
                    for f in sorted(waiting, key=urgency)
                    if at_risk(f, data.as_of, data.at_risk_weeks)],
    }


def _waiting_rows(waiting: list[ReferralFact], data: ReportData, key, names: tuple[str, ...]) -> list[Row]:
    as_of = data.as_of
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for f in waiting:
        c = counts[key(f)]
        c["waiting"] += 1
        c["at_risk"] += at_risk(f, as_of, data.at_risk_weeks)
        c["cannot_finish"] += cannot_finish(f, as_of)
        c["past_deadline"] += past_deadline(f, as_of)
    return [{**dict(zip(names, k)), "waiting": c["waiting"], "at_risk": c["at_risk"],
             "cannot_finish": c["cannot_finish"], "past_deadline": c["past_deadline"]}
            for k, c in sorted(counts.items())]


# 2. Waits --------------------------------------------------------------------------------------------
def wait_weeks(f: ReferralFact) -> float:
    """Weeks from referral to the start of the cohort (or first session)."""
    return (f.started_on - f.referred_on).days / 7


def starts_between(data: ReportData, first: date, last: date) -> list[ReferralFact]:
    return [f for f in data.referrals if f.started_on is not None and first <= f.started_on <= last]


def waits(data: ReportData) -> dict[str, Any]:
    """Median and 92nd-percentile wait of the people who started in the last 26 weeks; per week of start,
    and over the 4 weeks to each week (groups start in batches, so single weeks are often empty)."""
    mondays = weeks_back(data.as_of)
    started = starts_between(data, mondays[0], data.as_of)
    by_week: dict[date, list[float]] = defaultdict(list)
    for f in started:
        by_week[monday(f.started_on)].append(wait_weeks(f))
    trend = []
    for k, m in enumerate(mondays):
        rolling = [w for week in mondays[max(0, k - ROLLING_WEEKS + 1):k + 1] for w in by_week[week]]
        trend.append(dict(week_start=m, starts=len(by_week[m]), median_wait_weeks=median_of(by_week[m]),
                          p92_wait_weeks=p92_of(by_week[m]), rolling_4w_starts=len(rolling),
                          rolling_4w_median_wait_weeks=median_of(rolling), rolling_4w_p92_wait_weeks=p92_of(rolling)))
    all_waits = [wait_weeks(f) for f in started]
    return dict(starts=len(started), median_wait_weeks=median_of(all_waits), p92_wait_weeks=p92_of(all_waits),
                trend=trend)


def median_of(values: list[float]) -> float | None:
    return round(median(values), 1) if values else None


def p92_of(values: list[float]) -> float | None:
    return round(percentile(sorted(values), 92), 1) if values else None


# 3. Forecast -----------------------------------------------------------------------------------------
def open_referral(f: ReferralFact, as_of: date) -> bool:
    """Deadline ahead, and either without a place (waiting or on the way) or on a cohort not yet ended."""
    if f.deadline is None or f.deadline <= as_of:
        return False
    return f.unplaced_open or (f.cohort_id is not None and f.cohort_end is not None and f.cohort_end >= as_of)


def miss_week(f: ReferralFact, data: ReportData, weeks: int = HORIZON_WEEKS) -> date | None:
    """The Monday of the week in which an open referral will miss its deadline, within the window, if it will.

    Without a place: the week its last finish date (deadline less the catch-up margin) falls in, or this
    week if that date has already gone. With a place on a cohort ending after the deadline: the deadline's week.
    """
    if not open_referral(f, data.as_of):
        return None
    this, end = monday(data.as_of), monday(data.as_of) + timedelta(weeks=weeks)
    if f.unplaced_open:
        week = max(this, monday(f.deadline - timedelta(days=data.margin_days)))
    elif f.cohort_end > f.deadline:
        week = monday(f.deadline)
    else:
        return None
    return week if week < end else None


def forecast(data: ReportData) -> list[Row]:
    """Per week of the next 26: starts on current places, and forecast deadline misses by kind."""
    mondays = weeks_ahead(data.as_of)
    rows = {m: Counter() for m in mondays}
    for f in data.referrals:
        if f.cohort_start is not None and f.cohort_start > data.as_of and monday(f.cohort_start) in rows:
            rows[monday(f.cohort_start)]["starts"] += 1
        week = miss_week(f, data)
        if week is not None:
            kind = "misses_placed_late" if not f.unplaced_open else (
                "misses_waiting" if f.waiting else "misses_not_yet_waiting")
            rows[week][kind] += 1
    return [dict(week_start=m, starts=c["starts"], misses_waiting=c["misses_waiting"],
                 misses_not_yet_waiting=c["misses_not_yet_waiting"], misses_placed_late=c["misses_placed_late"],
                 misses=c["misses_waiting"] + c["misses_not_yet_waiting"] + c["misses_placed_late"])
            for m, c in rows.items()]


# 4. Capacity vs demand -------------------------------------------------------------------------------
def cohort_loads(data: ReportData) -> list[cap.CohortLoad]:
    return [cap.CohortLoad(c.cohort_id, c.programme_code, c.pdu_code, c.start_date, c.end_date,
                           c.facilitator_weekly_hours, c.facilitators_required, c.live, c.group_weeks,
                           c.group_start, c.facilitator_ids) for c in data.cohorts]


def capacity(data: ReportData) -> dict[str, Any]:
    """Facilitator hours needed and available per programme × PDU × week (engine.domain.capacity)."""
    waiting = [cap.WaitingDemand(f.programme_code, f.pdu_code, f.latest_start) for f in data.referrals
               if f.waiting and f.deadline is not None and f.deadline > data.as_of and f.programme_code in data.programmes]
    rows = cap.capacity_vs_demand(waiting, cohort_loads(data), data.facilitators, data.programmes, data.as_of,
                                  HORIZON_WEEKS)
    by_key = {t.key: t for t in cap.totals(rows)}
    near = {t.key: t for t in cap.totals(rows, weeks=UTILISATION_WEEKS)}
    summary = [dict(programme=k[0], pdu=k[1], demand_hours_12w=near[k].demand_hours,
                    capacity_hours_12w=near[k].capacity_hours, gap_hours_12w=near[k].gap_hours,
                    demand_hours_26w=t.demand_hours, capacity_hours_26w=t.capacity_hours, gap_hours_26w=t.gap_hours,
                    short_weeks_26w=t.short_weeks) for k, t in by_key.items()]
    programme_weeks = cap.totals(rows, by=("programme_code", "week_start"))
    shortfall = round(sum(max(0.0, -t.gap_hours) for t in programme_weeks), 1)
    weekly = [dict(week_start=t.key[0], demand_hours=t.demand_hours, waiting_hours=t.waiting_hours,
                   committed_hours=t.committed_hours, capacity_hours=t.capacity_hours, gap_hours=t.gap_hours)
              for t in cap.totals(rows, by=("week_start",))]
    by_programme = [dict(programme=t.key[0], demand_hours_26w=t.demand_hours, capacity_hours_26w=t.capacity_hours,
                         gap_hours_26w=t.gap_hours, short_weeks_26w=t.short_weeks)
                    for t in cap.totals(rows, by=("programme_code",))]
    detail = [dict(programme=r.programme_code, pdu=r.pdu_code, week_start=r.week_start,
                   waiting_hours=r.waiting_hours, committed_hours=r.committed_hours, demand_hours=r.demand_hours,
                   capacity_hours=r.capacity_hours, gap_hours=r.gap_hours) for r in rows]
    return dict(summary=summary, weekly=weekly, by_programme=by_programme, detail=detail,
                demand_hours=round(sum(w["demand_hours"] for w in weekly), 1),
                capacity_hours=round(sum(w["capacity_hours"] for w in weekly), 1),
                shortfall_hours=shortfall,
                shortfall_fte=round(shortfall / (HORIZON_WEEKS * cap.FTE_WEEKLY_HOURS), 1))


# 5. Cohort fill and cohorts to open ----------------------------------------------------------------
def cohort_fill(data: ReportData) -> list[Row]:
    """Live cohorts (confirmed or started) that have not ended: members against minimum and maximum."""
    out = []
    for c in sorted(data.cohorts, key=lambda c: (c.start_date, c.cohort_id)):
        if not c.live or c.end_date < data.as_of:
            continue
        if c.members < c.min_size:
            note = f"below minimum: {c.min_size - c.members} more needed"
        else:
            note = "full" if c.members >= c.max_size else ""
        out.append(dict(cohort_id=c.cohort_id, programme=c.programme_code, office=c.office_code, pdu=c.pdu_code,
                        status=c.status, started=c.start_date <= data.as_of, start_date=c.start_date,
                        end_date=c.end_date, members=c.members, min_size=c.min_size, max_size=c.max_size,
                        free_places=max(0, c.max_size - c.members), note=note))
    return out


def cohorts_to_open(data: ReportData) -> list[Row]:
    """Cohorts the plan proposed (origin PLAN) that have not started: staff and rooms to confirm."""
    return [dict(cohort_id=c.cohort_id, programme=c.programme_code, office=c.office_code, pdu=c.pdu_code,
                 status=c.status, start_date=c.start_date, end_date=c.end_date, members=c.members,
                 min_size=c.min_size, max_size=c.max_size, facilitator_ids=" ".join(c.facilitator_ids))
            for c in sorted(data.cohorts, key=lambda c: (c.start_date, c.cohort_id))
            if c.origin == "PLAN" and c.status in ("PROPOSED", "CONFIRMED") and c.start_date > data.as_of]


# 6. Facilitator utilisation ------------------------------------------------------------------------
def utilisation(data: ReportData) -> list[Row]:
    """Committed over contracted hours per facilitator id over the next 12 weeks (ids only)."""
    found = cap.facilitator_utilisation(cohort_loads(data), data.facilitators, data.as_of, UTILISATION_WEEKS)
    return [dict(facilitator_id=u.facilitator_id, home_pdu=u.home_pdu, programmes=" ".join(u.programmes),
                 contracted_hours_12w=u.contracted_hours, available_hours_12w=u.available_hours,
                 committed_hours_12w=u.committed_hours,
                 utilisation_pct=round(100 * u.utilisation, 1) if u.utilisation is not None else None,
                 note="overbooked: committed above available hours" if u.overbooked else "")
            for u in found]


def _weeks(delta: timedelta) -> float:
    return round(delta.days / 7, 1)


def total(rows: Iterable[Row], key: str) -> int | float:
    return sum(r[key] or 0 for r in rows)


# 8. Alerts by kind and workflow state --------------------------------------------------------------
OPEN_STATES, ACKNOWLEDGED_STATES = ("OPEN", "ASSIGNED"), ("ACKNOWLEDGED", "SNOOZED")


def alerts_by_kind(data: ReportData) -> list[Row]:
    """The region's open alerts per kind: not yet acknowledged (open, of which assigned) against acknowledged
    (of which snoozed); resolved ones wait for the next sweep to close or raise them again."""
    counts = Counter(data.alerts)
    out = []
    for kind in sorted({kind for kind, _ in data.alerts}):
        n = {state: counts[(kind, state)] for state in (*OPEN_STATES, *ACKNOWLEDGED_STATES, "RESOLVED")}
        out.append(dict(kind=kind, open=n["OPEN"] + n["ASSIGNED"], assigned=n["ASSIGNED"],
                        acknowledged=n["ACKNOWLEDGED"] + n["SNOOZED"], snoozed=n["SNOOZED"], resolved=n["RESOLVED"]))
    return out
