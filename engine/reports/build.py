"""Assemble the weekly planner report from :class:`ReportData`: headline numbers, sections, tables, charts.

Pure apart from drawing charts: no database, no files. :mod:`engine.reports.publish` does the I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from engine.reports import charts
from engine.reports import equity as eq
from engine.reports import sections as sec
from engine.reports.charts import Chart
from engine.reports.data import ReportData
from engine.reports.tables import Table, columns
from engine.domain.capacity import FTE_WEEKLY_HOURS

KIND = "weekly-planner"

# Headline measures: key, label, unit. Saved as JSON next to the HTML and compared week on week.
HEADLINE = (
    ("waiting", "people waiting for a place", "people"),
    ("at_risk", "waiting and at risk: latest start within the at-risk window (COHORTPLAN_ALERT_AT_RISK_WEEKS)",
     "people"),
    ("cannot_finish", "waiting, order not ended, but no start left finishes in time", "people"),
    ("past_deadline", "still waiting after their deadline passed", "people"),
    ("forecast_misses_26w", "forecast deadline misses, next 26 weeks", "people"),
    ("forecast_starts_26w", "forecast starts on current places, next 26 weeks", "people"),
    ("starts_26w", "starts, last 26 weeks", "people"),
    ("median_wait_weeks", "median wait from referral to start, last 26 weeks", "weeks"),
    ("p92_wait_weeks", "92nd-percentile wait from referral to start, last 26 weeks", "weeks"),
    ("capacity_demand_hours_26w", "facilitator hours needed, next 26 weeks", "hours"),
    ("capacity_hours_26w", "facilitator hours available, next 26 weeks", "hours"),
    ("capacity_shortfall_hours_26w", "facilitator hours short (programme by programme, week by week)", "hours"),
    ("capacity_shortfall_fte", f"shortfall as full-time facilitators ({FTE_WEEKLY_HOURS:g} h a week)", "FTE"),
    ("live_cohorts", "live cohorts (confirmed or started, not ended)", "cohorts"),
    ("cohorts_below_min", "live cohorts below their minimum size", "cohorts"),
    ("cohorts_to_open", "cohorts the plan proposes that have not started", "cohorts"),
    ("facilitators_overbooked", "facilitators committed above their available hours, next 12 weeks", "people"),
    ("plans_fell_back_13w", "weekly plans that fell back to current practice (the solver found no better plan "
                            "in its time), last 13 weeks", "plans"),
    ("alerts_open", "open alerts nobody has acknowledged (assigned ones included)", "alerts"),
    ("alerts_acknowledged", "open alerts acknowledged or snoozed", "alerts"),
)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Report:
    region: str
    as_of: date
    generated_at: datetime
    headline: dict[str, Any]
    previous_as_of: date | None
    sections: tuple[Section, ...]
    at_risk_weeks: int = 8

    @property
    def period_start(self) -> date:
        return self.as_of - timedelta(days=7)

    @property
    def report_id(self) -> str:
        return f"weekly-{self.region}-{self.as_of.isoformat()}"

    @property
    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    @property
    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts]

    def numbers(self) -> dict[str, Any]:
        """The machine-readable headline numbers saved next to the HTML."""
        return {"report_id": self.report_id, "kind": KIND, "region_code": self.region, "as_of": self.as_of.isoformat(),
                "period_start": self.period_start.isoformat(), "headline": self.headline,
                "previous_as_of": self.previous_as_of.isoformat() if self.previous_as_of else None}


def build_report(data: ReportData, generated_at: datetime, previous: dict[str, Any] | None = None) -> Report:
    """The whole report; ``previous`` is the JSON numbers of the last earlier report, if any."""
    waiting = sec.waiting_list(data)
    waits = sec.waits(data)
    forecast = sec.forecast(data)
    capacity = sec.capacity(data)
    fill, to_open = sec.cohort_fill(data), sec.cohorts_to_open(data)
    staff = sec.utilisation(data)
    equity = eq.equity(data)
    alerts = sec.alerts_by_kind(data)
    headline = dict(
        waiting=sec.total(waiting["by_programme"], "waiting"), at_risk=sec.total(waiting["by_programme"], "at_risk"),
        cannot_finish=sec.total(waiting["by_programme"], "cannot_finish"),
        past_deadline=sec.total(waiting["by_programme"], "past_deadline"),
        forecast_misses_26w=sec.total(forecast, "misses"), forecast_starts_26w=sec.total(forecast, "starts"),
        starts_26w=waits["starts"], median_wait_weeks=waits["median_wait_weeks"], p92_wait_weeks=waits["p92_wait_weeks"],
        capacity_demand_hours_26w=capacity["demand_hours"], capacity_hours_26w=capacity["capacity_hours"],
        capacity_shortfall_hours_26w=capacity["shortfall_hours"], capacity_shortfall_fte=capacity["shortfall_fte"],
        live_cohorts=len(fill), cohorts_below_min=sum(1 for r in fill if r["members"] < r["min_size"]),
        cohorts_to_open=len(to_open), facilitators_overbooked=sum(1 for r in staff if r["note"]),
        plans_fell_back_13w=sum(1 for day, status in data.plans
                                if status == "FALLBACK" and data.as_of - timedelta(weeks=13) < day <= data.as_of),
        alerts_open=sec.total(alerts, "open"), alerts_acknowledged=sec.total(alerts, "acknowledged"))
    previous_as_of = date.fromisoformat(previous["as_of"]) if previous else None
    parts = (
        _waiting_section(waiting, data), _waits_section(waits), _forecast_section(forecast, data.margin_days),
        _capacity_section(capacity), _fill_section(fill, to_open), _utilisation_section(staff),
        _equity_section(equity), _alerts_section(alerts), _changes_section(headline, previous),
    )
    return Report(data.region, data.as_of, generated_at, headline, previous_as_of, parts, data.at_risk_weeks)


def _waiting_section(w: dict[str, list], data: ReportData) -> Section:
    counts = (("waiting", "waiting (people)", True), ("at_risk", "at risk (people)", True),
              ("cannot_finish", "cannot finish in time (people)", True),
              ("past_deadline", "deadline passed (people)", True))
    return Section("waiting", "1. Waiting list by programme and PDU",
                   "People waiting for a place (Awaiting allocation) by programme and by the PDU they live in. "
                   "At risk: the latest cohort start that finishes in time (on the fastest usual weekly pattern, "
                   f"{data.margin_days} days' catch-up margin) is within {data.at_risk_weeks} weeks. Cannot finish in "
                   "time: the order has not ended but that latest start has gone. Deadline passed: the order ended "
                   "while they waited. The same rules raise the deadline.at_risk and deadline.missed alerts.",
                   (charts.waiting(w["by_programme"], data.at_risk_weeks),),
                   (Table("waiting-by-programme", "Waiting by programme", columns(("programme", "programme"), *counts),
                          tuple(w["by_programme"])),
                    Table("waiting-by-pdu", "Waiting by programme and PDU",
                          columns(("programme", "programme"), ("pdu", "PDU"), *counts), tuple(w["by_pdu"]),
                          collapsed=True),
                    Table("at-risk", f"At risk: {len(w['at_risk'])} people (crn and referral id only), soonest first",
                          columns(("referral_id", "referral"), ("crn", "crn"), ("programme", "programme"),
                                  ("pdu", "PDU"), ("deadline", "deadline"), ("latest_start", "latest start"),
                                  ("weeks_to_latest_start", "weeks to latest start", True)),
                          tuple(w["at_risk"]), collapsed=True)))


def _waits_section(w: dict[str, Any]) -> Section:
    return Section("waits", "2. Waits from referral to start",
                   f"Weeks from referral to the start of the cohort, for the {w['starts']} people who started in "
                   f"the last 26 weeks (a start: the cohort of their place began, or they attended a first "
                   f"session). Median {_num(w['median_wait_weeks'])} weeks, 92nd percentile "
                   f"{_num(w['p92_wait_weeks'])} weeks. Per week of start (groups start in batches, so many weeks have "
                   f"none) and over the 4 weeks to each week.",
                   (charts.wait_trend(w["trend"]),),
                   (Table("waits-trend", "Waits per week of start, last 26 weeks",
                          columns(("week_start", "week from (Monday)"), ("starts", "starts (people)", True),
                                  ("median_wait_weeks", "median wait (weeks)", True),
                                  ("p92_wait_weeks", "92nd percentile wait (weeks)", True),
                                  ("rolling_4w_starts", "starts, 4 weeks to the week", True),
                                  ("rolling_4w_median_wait_weeks", "median, 4 weeks (weeks)", True),
                                  ("rolling_4w_p92_wait_weeks", "92nd percentile, 4 weeks (weeks)", True)),
                          tuple(w["trend"])),))


def _forecast_section(rows: list[dict], margin_days: int) -> Section:
    return Section("forecast", "3. Forecast starts and deadline misses, next 26 weeks",
                   "Starts: people whose current place is on a cohort starting that week. Misses, by the week "
                   f"they happen: people without a place whose last finish date (deadline less {margin_days} days' "
                   "catch-up margin) falls in the week (this week if it has gone already) — on the waiting list, "
                   "or not yet on it (awaiting assessment, not ready, deprioritised, deferred) — and people whose "
                   "cohort ends after their deadline, in their deadline's week. Misses can still be prevented by "
                   "placing people; the plan will try.",
                   (charts.forecast(rows),),
                   (Table("forecast", "Forecast by week",
                          columns(("week_start", "week from (Monday)"), ("starts", "starts (people)", True),
                                  ("misses_waiting", "misses: waiting (people)", True),
                                  ("misses_not_yet_waiting", "misses: not yet waiting (people)", True),
                                  ("misses_placed_late", "misses: cohort ends too late (people)", True),
                                  ("misses", "misses: all (people)", True)), tuple(rows)),))


def _capacity_section(c: dict[str, Any]) -> Section:
    hours = lambda key, label: (key, f"{label} (h)", True)  # noqa: E731
    return Section("capacity", "4. Capacity against demand, facilitator hours, next 26 weeks",
                   "Demand: hours to run enough groups for everyone waiting who can still finish in time "
                   "(ceil(waiting / maximum group size) groups, starting now, each needing its facilitators for "
                   "the weeks it runs) plus hours already committed on live cohorts. Capacity: every trained "
                   "facilitator's weekly hours less absences and leaving, split evenly across the programmes they "
                   "are trained for, counted in their home PDU (groups run at hubs, so compare regions and "
                   f"programmes before PDUs). Shortfall, summed programme by programme and week by week: "
                   f"{_num(c['shortfall_hours'])} h, about {_num(c['shortfall_fte'])} full-time facilitators for "
                   f"26 weeks.",
                   (charts.capacity(c["weekly"]), charts.capacity_by_programme(c["by_programme"])),
                   (Table("capacity-by-programme", "By programme, next 26 weeks",
                          columns(("programme", "programme"), hours("demand_hours_26w", "demand"),
                                  hours("capacity_hours_26w", "capacity"), hours("gap_hours_26w", "capacity − demand"),
                                  ("short_weeks_26w", "weeks short", True)), tuple(c["by_programme"]),
                          highlight=tuple(r["gap_hours_26w"] < 0 for r in c["by_programme"])),
                    Table("capacity-region-weekly", "Region by week",
                          columns(("week_start", "week from (Monday)"), hours("waiting_hours", "waiting"),
                                  hours("committed_hours", "committed"), hours("demand_hours", "demand"),
                                  hours("capacity_hours", "capacity"), hours("gap_hours", "capacity − demand")),
                          tuple(c["weekly"]), collapsed=True),
                    Table("capacity-by-pdu", "By programme and PDU, next 12 and 26 weeks",
                          columns(("programme", "programme"), ("pdu", "PDU"), hours("demand_hours_12w", "demand 12 wk"),
                                  hours("capacity_hours_12w", "capacity 12 wk"), hours("gap_hours_12w", "gap 12 wk"),
                                  hours("demand_hours_26w", "demand 26 wk"), hours("capacity_hours_26w", "capacity 26 wk"),
                                  hours("gap_hours_26w", "gap 26 wk"), ("short_weeks_26w", "weeks short", True)),
                          tuple(c["summary"]), collapsed=True),
                    Table("capacity-weekly", "By programme, PDU and week",
                          columns(("programme", "programme"), ("pdu", "PDU"), ("week_start", "week from (Monday)"),
                                  hours("waiting_hours", "waiting"), hours("committed_hours", "committed"),
                                  hours("demand_hours", "demand"), hours("capacity_hours", "capacity"),
                                  hours("gap_hours", "capacity − demand")), tuple(c["detail"]), collapsed=True)))


def _fill_section(fill: list[dict], to_open: list[dict]) -> Section:
    size = (("members", "members (people)", True), ("min_size", "minimum", True), ("max_size", "maximum", True))
    return Section("cohorts", "5. Cohort fill and cohorts to open",
                   "Live cohorts (confirmed or started, not yet ended) with the places held against their minimum "
                   "and maximum size; below minimum is highlighted. Cohorts to open: those the plan proposed "
                   "(origin PLAN) that have not started yet — staff and rooms to confirm.",
                   (charts.cohort_fill(fill),),
                   (Table("cohort-fill", f"Live cohorts: {len(fill)}",
                          columns(("cohort_id", "cohort"), ("programme", "programme"), ("office", "office"),
                                  ("status", "status"), ("start_date", "start"), ("end_date", "end"), *size,
                                  ("free_places", "free places", True), ("note", "note")), tuple(fill),
                          highlight=tuple(r["members"] < r["min_size"] for r in fill)),
                    Table("cohorts-to-open", f"Cohorts to open: {len(to_open)}",
                          columns(("cohort_id", "cohort"), ("programme", "programme"), ("office", "office"),
                                  ("status", "status"), ("start_date", "start"), ("end_date", "end"), *size,
                                  ("facilitator_ids", "facilitators (ids)")), tuple(to_open))))


def _utilisation_section(rows: list[dict]) -> Section:
    return Section("utilisation", "6. Facilitator utilisation, next 12 weeks",
                   "Hours committed on the live cohorts each facilitator runs, over their contracted hours "
                   "(weekly hours × 12). Available hours are less absences and leaving; committed above available "
                   "is overbooked. Facilitator ids only.",
                   (charts.utilisation(rows),),
                   (Table("utilisation", "Utilisation by facilitator",
                          columns(("facilitator_id", "facilitator"), ("home_pdu", "home PDU"),
                                  ("programmes", "trained for"), ("contracted_hours_12w", "contracted (h)", True),
                                  ("available_hours_12w", "available (h)", True),
                                  ("committed_hours_12w", "committed (h)", True),
                                  ("utilisation_pct", "utilisation (%)", True), ("note", "note")), tuple(rows),
                          highlight=tuple(bool(r["note"]) for r in rows)),))


def _equity_section(rows: list[dict]) -> Section:
    flagged, small = [eq.flagged(r) for r in rows], [eq.small(r) for r in rows]
    differs = sum(flagged)
    return Section("equity", "7. Equity: waits, starts and misses by group",
                   f"Open referrals (deadline ahead, without a place or on a cohort not yet ended), people waiting, "
                   f"starts and median wait over the last 26 weeks, forecast misses over the next 26 weeks, and "
                   f"what already happened: of the orders that ended in the last 52 weeks (not cut short), the "
                   f"share that started a programme in time, against the 52 weeks before — by sex, ethnicity group, "
                   f"LDC and PDU. A group is flagged when its miss rate differs from the region's by more than "
                   f"{eq.MISS_RATE_POINTS:g} points, its median wait by more than {eq.WAIT_WEEKS:g} weeks, or its "
                   f"share started in time trails the region's by more than {eq.STARTED_POINTS:g} points; groups "
                   f"with fewer than {eq.SMALL_GROUP} people behind a measure are not compared on it. Flagged now: "
                   f"{differs} group{'s' if differs != 1 else ''}.",
                   (charts.equity(rows, flagged, small), charts.started_in_time(rows, flagged, small)),
                   (Table("equity", "By group",
                          columns(("dimension", "dimension"), ("group", "group"),
                                  ("open_referrals", "open referrals", True), ("waiting", "waiting", True),
                                  ("starts_26w", "starts, last 26 wk", True),
                                  ("median_wait_weeks", "median wait (weeks)", True),
                                  ("wait_diff_weeks", "vs region (weeks)", True),
                                  ("forecast_misses_26w", "forecast misses, 26 wk", True),
                                  ("miss_rate_pct", "miss rate (%)", True),
                                  ("miss_rate_diff_points", "vs region (points)", True),
                                  ("orders_ended_52w", "orders ended, last 52 wk", True),
                                  ("started_in_time_pct", "started in time (%)", True),
                                  ("started_diff_points", "vs region (points)", True),
                                  ("started_year_before_pct", "52 wk before (%)", True),
                                  ("assessment", "assessment", False, True)),
                          tuple(rows), highlight=tuple(flagged)),))


def _changes_section(headline: dict[str, Any], previous: dict[str, Any] | None) -> Section:
    before = (previous or {}).get("headline", {})
    rows = []
    for key, label, unit in HEADLINE:
        now, then = headline.get(key), before.get(key)
        change = round(now - then, 1) if isinstance(now, (int, float)) and isinstance(then, (int, float)) else None
        rows.append(dict(measure=label, unit=unit, this_report=now, previous_report=then, change=change))
    if previous is None:
        intro = "First report: there is no earlier report for this region to compare with."
    else:
        intro = (f"Headline numbers against the previous report, as of {previous['as_of']} "
                 "(saved as JSON next to it).")
    return Section("changes", "9. What changed since last week", intro, (),
                   (Table("changes", "Headline numbers", columns(
                       ("measure", "measure"), ("unit", "unit"), ("this_report", "this report", True),
                       ("previous_report", "previous report", True), ("change", "change", True)), tuple(rows)),))


def _alerts_section(rows: list[dict]) -> Section:
    return Section("alerts", "8. Alerts by kind: open and acknowledged",
                   "The region's open alerts when the report was built, by what ops staff did about them: open "
                   "(nobody has acknowledged it; assigned ones included) against acknowledged (snoozed ones "
                   "included: the alert sweep does not notify them again unless their severity rises). Resolved "
                   "alerts wait for the next sweep, which closes them or raises them again.", (),
                   (Table("alerts", "Open alerts by kind and workflow state",
                          columns(("kind", "kind"), ("open", "open", True), ("assigned", "of which assigned", True),
                                  ("acknowledged", "acknowledged", True), ("snoozed", "of which snoozed", True),
                                  ("resolved", "resolved", True)), tuple(rows),
                          highlight=tuple(bool(r["open"]) for r in rows)),))


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
