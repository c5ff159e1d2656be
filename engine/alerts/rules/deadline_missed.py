"""Deadline missed: not started, no place, and no usual pattern can start in time any more.

CRITICAL until the referral closes or gets a place: the order ends before the programme could, so
the case manager must act (an extension, a return to court, or a one-to-one alternative).
"""
from __future__ import annotations

from engine.alerts.inputs import NOT_STARTED, AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.rules.deadline_at_risk import referral_ended
from engine.alerts.settings import AlertThresholds

KIND = "deadline.missed"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    out = []
    for r in inputs.referrals:
        if r.status not in NOT_STARTED or r.cohort_id or r.deadline is None:
            continue
        if r.latest_start is not None and r.latest_start >= inputs.today:
            continue
        passed = f"latest start {r.latest_start} passed" if r.latest_start else "no start on a usual pattern finishes in time"
        out.append(Alert(
            KIND, Severity.CRITICAL, "referral", r.referral_id, inputs.region_code,
            f"{passed}: {r.programme_code} cannot be completed before the order ends {r.deadline} "
            f"({r.status.lower()})",
            act_by=r.deadline if r.deadline >= inputs.today else None, pdu_code=r.pdu_code, key=r.crn,
            numbers={"latest_start": r.latest_start.isoformat() if r.latest_start else None,
                     "deadline": r.deadline.isoformat(), "status": r.status}))
    return out


def cleared(row: dict, inputs: AlertInputs) -> str:
    r, reason = referral_ended(row, inputs)
    if reason:
        return reason
    if r.deadline is None:
        return "no deadline on record"
    return f"deadline now {r.deadline}, latest start {r.latest_start}: see deadline.at_risk"
