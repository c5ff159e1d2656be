"""Deadline at risk: not started, no place, and the latest start that still finishes in time is near.

Raised when the latest start on the fastest usual pattern falls within ``at_risk_weeks``; CRITICAL in
its last two weeks. Once that date has passed the person moves to :mod:`deadline_missed` instead.
"""
from __future__ import annotations

from datetime import timedelta

from engine.alerts.inputs import NOT_STARTED, AlertInputs, ReferralView
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "deadline.at_risk"
SCOPE = "region"
CRITICAL_WEEKS = 2
AT_RISK_TEXT = "the at-risk window"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    today, out = inputs.today, []
    limit = today + timedelta(weeks=thresholds.at_risk_weeks)
    for r in inputs.referrals:
        if r.status not in NOT_STARTED or r.cohort_id or r.latest_start is None:
            continue
        if not today <= r.latest_start <= limit:
            continue
        urgent = r.latest_start <= today + timedelta(weeks=CRITICAL_WEEKS)
        out.append(Alert(
            KIND, Severity.CRITICAL if urgent else Severity.WARNING, "referral", r.referral_id, inputs.region_code,
            f"{r.programme_code} must start by {r.latest_start} to finish before the order ends {r.deadline}; "
            f"no place yet ({r.status.lower()})",
            act_by=r.latest_start, pdu_code=r.pdu_code, key=r.crn,
            numbers={"latest_start": r.latest_start.isoformat(), "deadline": r.deadline.isoformat(),
                     "status": r.status}))
    return out


def cleared(row: dict, inputs: AlertInputs) -> str:
    r, reason = referral_ended(row, inputs)
    if reason:
        return reason
    if r.latest_start is None or r.latest_start < inputs.today:
        return "latest start passed: see deadline.missed"
    return f"latest start {r.latest_start}, more than {AT_RISK_TEXT} away"


def referral_ended(row: dict, inputs: AlertInputs) -> tuple[ReferralView | None, str | None]:
    """The referral of a deadline alert, and the reason its alert ended if it is no longer waiting
    (closed, placed, or moved on to another status), in the words a case manager uses."""
    r = inputs.referral(row["subject_id"])
    if r is None:
        return None, "referral closed or no longer in this region"
    if r.cohort_id:
        return r, f"placed on cohort {r.cohort_id}"
    if r.status not in NOT_STARTED:
        return r, f"status now {r.status.lower()}"
    return r, None
