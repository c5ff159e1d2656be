"""Small factories for alert-rule tests: plain views with sensible defaults, a fixed Monday for today.

``referral``, ``cohort``, ``facilitator``, ``absence`` build the views a rule reads; ``inputs`` wraps
them in :class:`AlertInputs`; ``thresholds`` gives the documented defaults regardless of the
environment; ``stored`` turns an :class:`Alert` into the open-alert row the sweep keeps (the same
shape as ``engine.alerts.sweep._row``) and ``active`` keys such rows by alert id for ``reconcile``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from engine.alerts.inputs import (
    AbsenceView,
    AlertInputs,
    CohortView,
    FacilitatorView,
    ReferralView,
)
from engine.alerts.model import Alert
from engine.alerts.settings import DEFAULT_STUCK_DAYS, AlertThresholds

TODAY = date(2025, 3, 3)  # a Monday
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
REGION = "RS"
PDU = "RS-P01"
CRN = "X123456"

assert TODAY.weekday() == 0


def days(n: int) -> timedelta:
    return timedelta(days=n)


def referral(**overrides: Any) -> ReferralView:
    deadline = overrides.pop("deadline", date(2026, 1, 5))
    values: dict[str, Any] = dict(
        referral_id="REF-1", crn=CRN, programme_code="BC-M", status="AWAITING_ALLOCATION",
        status_since=date(2025, 1, 20), pdu_code=PDU, referred_on=date(2025, 1, 9), deadline=deadline,
        latest_start=date(2025, 8, 4), latest_end=deadline - days(14) if deadline else None,
        cohort_id=None, pinned=False, risk_band="MEDIUM")
    values.update(overrides)
    return ReferralView(**values)


def cohort(**overrides: Any) -> CohortView:
    start = overrides.pop("start_date", date(2025, 3, 24))
    values: dict[str, Any] = dict(
        cohort_id="C1", programme_code="BC-M", pdu_code=PDU, office_code="RS-P01-O1", status="PROPOSED",
        origin="PLANNED", start_date=start, end_date=start + timedelta(weeks=20), group_start=start,
        min_size=6, max_size=12, members=8, facilitator_ids=("F1", "F2"), facilitators_required=2,
        weekly_hours=7.5, slots=((0, "10:00", "DAYTIME"),), session_minutes=150)
    values.update(overrides)
    return CohortView(**values)


def facilitator(**overrides: Any) -> FacilitatorView:
    values: dict[str, Any] = dict(facilitator_id="F1", home_pdu=PDU, programmes=frozenset({"BC-M"}),
                                  weekly_hours=22.0, absences=(), left_on=None)
    values.update(overrides)
    if not isinstance(values["programmes"], frozenset):
        values["programmes"] = frozenset(values["programmes"])
    values["absences"] = tuple(values["absences"])
    return FacilitatorView(**values)


def absence(session_date: date, referral_id: str = "REF-1", cohort_id: str = "C1",
            outcome: str = "UAAB") -> AbsenceView:
    return AbsenceView(referral_id, cohort_id, session_date, outcome)


def inputs(**overrides: Any) -> AlertInputs:
    values: dict[str, Any] = dict(region_code=REGION, today=TODAY, now=NOW)
    values.update(overrides)
    for name in ("referrals", "cohorts", "facilitators", "absences", "dead_letters"):
        if name in values:
            values[name] = tuple(values[name])
    if "today" in overrides and "now" not in overrides:
        values["now"] = datetime.combine(values["today"], time(9, 0), tzinfo=timezone.utc)
    return AlertInputs(**values)


def thresholds(**overrides: Any) -> AlertThresholds:
    """The documented defaults, passed explicitly so no COHORTPLAN_ALERT_* variable can change them."""
    values: dict[str, Any] = dict(
        at_risk_weeks=8, below_minimum_days=21, facilitator_days=28, urgent_days=7, overbooked_weeks=12,
        capacity_weeks=12, capacity_shortfall_pct=10.0, stuck_days=dict(DEFAULT_STUCK_DAYS),
        breach_window_days=365, breach_act_days=14, dead_letters_per_hour=10)
    values.update(overrides)
    return AlertThresholds(**values)


def stored(alert: Alert, raised_at: datetime = NOW, updated_at: datetime | None = None) -> dict:
    """The open-alert row as the sweep stores it (mirrors ``engine.alerts.sweep._row``)."""
    return dict(alert_id=alert.alert_id, kind=alert.kind, region_code=alert.region_code,
                subject_type=alert.subject_type, subject_id=alert.subject_id, severity=str(alert.severity),
                raised_at=raised_at, updated_at=updated_at or raised_at, act_by=alert.act_by,
                reason=alert.reason, pdu_code=alert.pdu_code,
                numbers={k: (v.isoformat() if isinstance(v, date) else v) for k, v in alert.numbers.items()},
                message_key=alert.key or alert.subject_id)


def active(*alerts: Alert) -> dict[str, dict]:
    return {a.alert_id: stored(a) for a in alerts}


def only(alerts: list[Alert]) -> Alert:
    assert len(alerts) == 1, alerts
    return alerts[0]


def assert_no_crn(alert: Alert, *crns: str) -> None:
    """People are named by referral id in the reason; the crn only travels as the message key."""
    for crn in crns or (CRN,):
        assert crn not in alert.reason, alert.reason
