"""What the weekly report is computed from: plain, frozen facts about one region read in a few queries.

Nothing here knows SQL (the rows come from :mod:`engine.persistence.report_queries`) and nothing after
this module touches the database: every section is a pure function of :class:`ReportData`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from engine.domain.model import CohortStatus
from engine.alerts.settings import AlertThresholds
from engine.alerts.states import state_of
from engine.domain.rules import EngineRules
from engine.domain.capacity import FacilitatorSupply, ProgrammeLoad, programme_loads
from engine.domain.deadlines import latest_start_from
from engine.domain.capacity import weekly_hours

WAITING = "AWAITING_ALLOCATION"
# Open referrals without a place: the waiting list and those still on their way to it.
UNPLACED_OPEN = frozenset({"AWAITING_ASSESSMENT", WAITING, "SUITABLE_NOT_READY", "DEPRIORITISED", "DEFERRED"})
LIVE = frozenset({CohortStatus.CONFIRMED.value, CohortStatus.STARTED.value})


class ReportRows(Protocol):
    """The read side the report needs (``engine.persistence.report_queries.ReportQueries``)."""

    def referrals(self, region: str) -> list[dict[str, Any]]: ...
    def first_on_programme(self, region: str) -> dict[str, date]: ...
    def cohorts(self, region: str) -> list[dict[str, Any]]: ...
    def facilitators(self, region: str) -> list[dict[str, Any]]: ...
    def plans(self, region: str) -> list[dict[str, Any]]: ...
    def alerts(self, region: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ReferralFact:
    referral_id: str
    crn: str
    programme_code: str
    status: str
    referred_on: date
    pdu_code: str
    sex: str
    ethnicity_group: str
    ldc: bool
    deadline: date | None
    cohort_id: str | None = None        # the place held, if any
    cohort_start: date | None = None
    cohort_end: date | None = None
    started_on: date | None = None      # the cohort's start, or the first On programme date, if on or before as of
    latest_start: date | None = None    # unplaced, open, deadline ahead: the latest start on or after as of that
                                        # still finishes in time (None: none does)
    requirement_status: str | None = None  # TERMINATED when the order was cut short (or completed)
    on_programme: date | None = None    # the first On programme date, whenever it was

    def measure_row(self) -> dict[str, Any]:
        """The fields the public measure reads (:func:`engine.services.metrics.counted`, ``started_in_time``)."""
        return dict(referred_on=self.referred_on, deadline=self.deadline, status=self.status,
                    requirement_status=self.requirement_status, cohort_start=self.cohort_start,
                    ever_on_programme=self.on_programme is not None)

    @property
    def unplaced_open(self) -> bool:
        return self.cohort_id is None and self.status in UNPLACED_OPEN

    @property
    def waiting(self) -> bool:
        return self.status == WAITING and self.cohort_id is None


@dataclass(frozen=True)
class CohortFact:
    cohort_id: str
    programme_code: str
    office_code: str
    pdu_code: str
    status: str
    origin: str
    start_date: date
    end_date: date
    min_size: int
    max_size: int
    members: int
    facilitator_ids: tuple[str, ...]
    group_weeks: int
    group_start: date | None
    facilitator_weekly_hours: float
    facilitators_required: int

    @property
    def live(self) -> bool:
        return self.status in LIVE


@dataclass(frozen=True)
class ReportData:
    region: str
    as_of: date
    margin_days: int
    referrals: tuple[ReferralFact, ...]
    cohorts: tuple[CohortFact, ...]
    facilitators: tuple[FacilitatorSupply, ...]
    programmes: Mapping[str, ProgrammeLoad]
    at_risk_weeks: int = 8  # the deadline.at_risk alert's threshold (COHORTPLAN_ALERT_AT_RISK_WEEKS)
    plans: tuple[tuple[date, str], ...] = ()  # (as of, status) of the region's published plans, oldest first
    alerts: tuple[tuple[str, str], ...] = ()  # (kind, workflow state) of the region's open alerts, when read


def load_report_data(rows: ReportRows, region: str, as_of: date, rules: EngineRules | None = None,
                     at_risk_weeks: int | None = None) -> ReportData:
    rules = rules or EngineRules()
    started = rows.first_on_programme(region)
    referrals = tuple(referral_fact(r, started.get(r["referral_id"]), as_of, rules) for r in rows.referrals(region))
    cohorts = tuple(_cohort(c, rules) for c in rows.cohorts(region))
    facilitators = tuple(FacilitatorSupply(
        f["facilitator_id"], f["home_pdu"], frozenset(f["programmes"] or ()), float(f["weekly_hours"]),
        tuple((_d(a), _d(b)) for a, b in f["absences"] or ()), _d(f["left_on"]) if f["left_on"] else None)
        for f in rows.facilitators(region))
    return ReportData(region, as_of, rules.deadline_margin_days, referrals, cohorts, facilitators,
                      programme_loads(rules.catalogue, rules.is_holiday, as_of),
                      at_risk_weeks if at_risk_weeks is not None else AlertThresholds().at_risk_weeks,
                      tuple((_d(p["as_of"]), str(p["status"])) for p in rows.plans(region)),
                      tuple((a["kind"], str(state_of(a))) for a in rows.alerts(region)))


def load_waiting(rows: Any, region: str, as_of: date, status: str, rules: EngineRules | None = None) -> tuple[
        ReferralFact, ...]:
    """The facts :func:`load_report_data` holds for the region's referrals in ``status`` without a place (the
    waiting list), read alone: the same deadline, latest start and flags, without reading the rest of the region
    (``rows.waiting``). When they first went on programme is not read: it says nothing of someone waiting."""
    rules = rules or EngineRules()
    return tuple(referral_fact(r, None, as_of, rules) for r in rows.waiting(region, status))


def referral_fact(row: dict[str, Any], on_programme: date | None, as_of: date, rules: EngineRules) -> ReferralFact:
    """A referral's row (the report's read side, or the planner's :func:`engine.services.problem.realised_facts`) as
    the fact the report and the plan's equity weight measure."""
    cohort_start = _d(row["cohort_start"]) if row["cohort_start"] else None
    if cohort_start is not None and cohort_start <= as_of:
        started_on = cohort_start
    else:
        started_on = on_programme if on_programme is not None and on_programme <= as_of else None
    deadline, code = _d(row["deadline"]) if row["deadline"] else None, row["programme_code"]
    latest = None
    if row["cohort_id"] is None and row["status"] in UNPLACED_OPEN and deadline is not None and deadline > as_of \
            and code in rules.catalogue:  # the planner's and the alerts' latest start, still ahead
        latest = latest_start_from(rules.catalogue, code, deadline, rules.deadline_margin_days, rules.is_holiday,
                                   as_of)
    return ReferralFact(
        row["referral_id"], row["crn"], code, row["status"], _d(row["referred_on"]),
        row["pdu_code"] or "", row["sex"] or "", row["ethnicity_group"] or "", bool(row["ldc"]),
        deadline, row["cohort_id"], cohort_start, _d(row["cohort_end"]) if row["cohort_end"] else None, started_on,
        requirement_status=row.get("requirement_status"), on_programme=on_programme, latest_start=latest)


def _cohort(row: dict[str, Any], rules: EngineRules) -> CohortFact:
    code = row["programme_code"]
    known = code in rules.catalogue
    programme = rules.catalogue.get(code) if known else None
    return CohortFact(
        row["cohort_id"], code, row["office_code"], row["pdu_code"], str(row["status"]), str(row["origin"]),
        _d(row["start_date"]), _d(row["end_date"]), int(row["min_size"]), int(row["max_size"]), int(row["members"]),
        tuple(row["facilitator_ids"] or ()), int(row["group_weeks"] or 1),
        _d(row["group_start"]) if row["group_start"] else None,
        weekly_hours(programme, len(row["slots"] or ())) if programme else 0.0,
        programme.facilitators_per_group if programme else 2)


def _d(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
