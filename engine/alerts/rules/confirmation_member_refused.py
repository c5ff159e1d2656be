"""A member named by the delivery team's confirmation of a cohort that cohortplan could not place:
unknown referral, not on the waiting list, a fixed place elsewhere, another programme, sex, offence
cohort, LDC, non-association, or over the group's maximum. The cohort is confirmed for everyone else;
the treatment manager resolves this one (WARNING; CRITICAL when the cohort starts within a week).
"""
from __future__ import annotations

from datetime import timedelta

from engine.alerts.inputs import AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "confirmation.member_refused"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    out, seen = [], set()
    for m in inputs.refused_members:
        subject = f"{m['cohort_id']}/{m['referral_id']}"
        if subject in seen:
            continue
        seen.add(subject)
        cohort = inputs.cohort(m["cohort_id"])
        soon = cohort is not None and cohort.start_date <= inputs.today + timedelta(days=7)
        view = inputs.referral(m["referral_id"])
        out.append(Alert(
            KIND, Severity.CRITICAL if soon else Severity.WARNING, "referral", subject, inputs.region_code,
            f"the delivery team confirmed referral {m['referral_id']} on cohort {m['cohort_id']}, but it was not "
            f"placed ({m['rule']}: {m['detail']}); the rest of the cohort stands: correct the membership or the "
            f"record, then re-send the confirmation",
            act_by=max(inputs.today, cohort.start_date) if cohort else inputs.today,
            pdu_code=view.pdu_code if view else (cohort.pdu_code if cohort else None), key=m.get("crn") or m["cohort_id"],
            numbers={"cohort_id": m["cohort_id"], "referral_id": m["referral_id"], "rule": m["rule"]}))
    return out


def cleared(row: dict, inputs: AlertInputs) -> str:
    cohort_id, _, rid = row["subject_id"].partition("/")
    view = inputs.referral(rid)
    if view is not None and view.cohort_id == cohort_id:
        return f"now placed on cohort {cohort_id}"
    if inputs.cohort(cohort_id) is None:
        return f"cohort {cohort_id} is no longer open"
    return "the referral closed"
