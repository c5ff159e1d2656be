"""A place that no longer finishes in time: the cohort ends after the deadline less the margin
(typically after a sentence amendment brought the end date forward).

WARNING while the next plan can still move the person; CRITICAL when it cannot (the group has started,
or the place is inside the freeze window or pinned).
"""
from __future__ import annotations

from engine.alerts.inputs import HOLDING_PLACE, AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "allocation.finishes_late"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    out = []
    for r in inputs.referrals:
        if r.status not in HOLDING_PLACE or not r.cohort_id or r.latest_end is None:
            continue
        cohort = inputs.cohort(r.cohort_id)
        if cohort is None or cohort.end_date <= r.latest_end:
            continue
        fixed = r.pinned or r.status == "ON_PROGRAMME" or cohort.status == "STARTED"
        act_by = cohort.start_date if cohort.start_date > inputs.today else r.latest_end
        out.append(Alert(
            KIND, Severity.CRITICAL if fixed else Severity.WARNING, "referral", r.referral_id, inputs.region_code,
            f"cohort {cohort.cohort_id} ends {cohort.end_date}, after the latest end {r.latest_end} "
            f"(order ends {r.deadline}); " + ("the place is fixed: agree an extension or an alternative"
                                               if fixed else "the next plan will look for an earlier cohort"),
            act_by=act_by, pdu_code=r.pdu_code, key=r.crn,
            numbers={"cohort_id": cohort.cohort_id, "cohort_end": cohort.end_date.isoformat(),
                     "latest_end": r.latest_end.isoformat(), "fixed": int(fixed)}))
    return out


def cleared(row: dict, inputs: AlertInputs) -> str:
    r = inputs.referral(row["subject_id"])
    if r is None or r.status not in HOLDING_PLACE:
        return "no longer holding a place" if r is None else f"status now {r.status.lower()}"
    if r.cohort_id != (row.get("numbers") or {}).get("cohort_id"):
        return f"moved to cohort {r.cohort_id}" if r.cohort_id else "place removed"
    return f"the cohort now finishes by {r.latest_end}"
