"""A referral stuck in a status longer than its threshold (``stuck_days``, per status)."""
from __future__ import annotations

from datetime import timedelta

from engine.alerts.inputs import AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "referral.stuck"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    out = []
    for r in inputs.referrals:
        limit = thresholds.stuck_days.get(r.status)
        if limit is None or (inputs.today - r.status_since).days <= limit:
            continue
        stuck_on = r.status_since + timedelta(days=limit)
        out.append(Alert(
            KIND, Severity.WARNING, "referral", r.referral_id, inputs.region_code,
            f"{r.status.lower()} since {r.status_since}, longer than {limit} days"
            + (f"; latest start for {r.programme_code} is {r.latest_start}" if r.latest_start else ""),
            act_by=max(stuck_on, r.latest_start) if r.latest_start else stuck_on,
            pdu_code=r.pdu_code, key=r.crn,
            numbers={"status": r.status, "since": r.status_since.isoformat(), "threshold_days": limit}))
    return out


def cleared(row: dict, inputs: AlertInputs) -> str:
    r = inputs.referral(row["subject_id"])
    if r is None:
        return "referral closed or no longer in this region"
    return f"moved on to {r.status.lower()} on {r.status_since}"
