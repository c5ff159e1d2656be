"""Breach guidance: a second unacceptable absence within 12 months of a warning.

National Standards: the first unacceptable absence (UAAB) gets a warning; another within the
warning period means breach action should start. Raised while the person still holds their place and
no breach has been raised; cleared when one is (status BREACH) or the place ends.
"""
from __future__ import annotations

from datetime import timedelta

from engine.alerts.inputs import HOLDING_PLACE, AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "breach.guidance"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    window = timedelta(days=thresholds.breach_window_days)
    by_referral: dict[str, list] = {}
    for a in inputs.absences:
        if a.session_date <= inputs.today:
            by_referral.setdefault(a.referral_id, []).append(a.session_date)
    out = []
    for referral_id, days in sorted(by_referral.items()):
        r = inputs.referral(referral_id)
        if r is None or r.status not in HOLDING_PLACE:
            continue
        trigger = _trigger(sorted(days), window)
        if trigger is None or trigger[1] < inputs.today - window:
            continue
        warned, second = trigger
        count = sum(1 for d in days if warned <= d <= inputs.today)
        out.append(Alert(
            KIND, Severity.CRITICAL, "referral", referral_id, inputs.region_code,
            f"unacceptable absence on {second} within {thresholds.breach_window_days} days of the warning of "
            f"{warned} ({count} since): start breach action",
            act_by=second + timedelta(days=thresholds.breach_act_days), pdu_code=r.pdu_code, key=r.crn,
            numbers={"warned_on": warned.isoformat(), "second_absence_on": second.isoformat(),
                     "unacceptable_absences": count, "window_days": thresholds.breach_window_days}))
    return out


def _trigger(days, window):
    """(warning date, the absence within the window after it) of the most recent such pair: a warning
    is the first absence, or the first after the previous warning lapsed or led to breach guidance."""
    warned, found = None, None
    for day in days:
        if warned is not None and day > warned and day - warned <= window:
            found, warned = (warned, day), None  # guidance given; the next absence starts afresh
        elif warned is None or day - warned > window:
            warned = day
    return found


def cleared(row: dict, inputs: AlertInputs) -> str:
    r = inputs.referral(row["subject_id"])
    if r is None:
        return "referral closed or no longer in this region"
    if r.status == "BREACH":
        return f"breach raised on {r.status_since}"
    if r.status in HOLDING_PLACE:
        return f"no second unacceptable absence within {(row.get('numbers') or {}).get('window_days', 365)} days any more"
    return f"status now {r.status.lower()}"
