"""Deadline at risk: not started, no place, and the latest start that still finishes in time is near.

Raised when the latest start on the fastest usual pattern falls within ``at_risk_weeks``; CRITICAL in
its last two weeks. Once that date has passed the person moves to :mod:`deadline_missed` instead.
"""
from __future__ import annotations

from datetime import timedelta

from engine.alerts.inputs import NOT_STARTED, AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "deadline.at_risk"
SCOPE = "region"
CRITICAL_WEEKS = 2


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
    return referral_cleared(row, inputs)


def referral_cleared(row: dict, inputs: AlertInputs) -> str:
    """Why a referral's deadline alert ended, in the words a case manager uses."""
    r = inputs.referral(row["subject_id"])
    if r is None:
        return "referral closed or no longer in this region"
    if r.cohort_id:
        return f"placed on cohort {r.cohort_id}"
    if r.latest_start is None or r.latest_start < inputs.today:
        return "latest start passed: see deadline.missed"
    return f"status {r.status.lower()}, latest start {r.latest_start}"
