"""A held place breaks a rule after the facts under it changed (a corrected sex, a new
non-association, an earlier order end, a re-assessment, a rescheduled cohort, a move out of region).

CRITICAL when the place is kept because people made it or the programme is running: the treatment
manager decides (the reason says what to do). WARNING when the place was removed (the person is back
on the waiting list: tell them their place is withdrawn) or is the plan's own and the next plan moves
the person. A removal stays open until the next plan of the region has seen the person again. A kept
place that only finishes too late is left to ``allocation.finishes_late``, which says what to do.
"""
from __future__ import annotations

from engine.alerts.inputs import AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds
from engine.domain.placement import ACTION, Rule

KIND = "place.breaks_rule"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    by_referral: dict[str, list] = {}
    for finding in inputs.place_breaches:
        if finding["rule"] == Rule.DEADLINE:
            continue  # a held place that finishes late is allocation.finishes_late's to report
        by_referral.setdefault(finding["referral_id"], []).append(finding)
    out = [_held(inputs, rid, findings) for rid, findings in sorted(by_referral.items())]
    out += [_removed(inputs, rid, record) for rid, record in sorted(inputs.removed_places.items())
            if rid not in by_referral]
    return out


def _held(inputs: AlertInputs, rid: str, findings: list) -> Alert:
    first = findings[0]
    rules = sorted({f["rule"] for f in findings})
    kept = first["remedy"] == "FLAG"
    what = "; ".join(f"{f['rule']}: {f['detail']}" for f in findings)
    todo = ("kept because the delivery team placed them or the programme is running — "
            + "; ".join(ACTION[Rule(rule)] for rule in rules) if kept
            else "the next plan moves the person to a group they may join")
    return Alert(KIND, Severity.CRITICAL if kept else Severity.WARNING, "referral", rid, inputs.region_code,
                 f"place on cohort {first['cohort_id']} breaks {', '.join(rules)} ({what}); {todo}",
                 act_by=_act_by(inputs, first["cohort_id"]), pdu_code=_pdu(inputs, rid), key=first["crn"],
                 numbers={"cohort_id": first["cohort_id"], "rules": ",".join(rules), "action": "kept" if kept else "moving"})


def _removed(inputs: AlertInputs, rid: str, record) -> Alert:
    rules = ",".join(record["rules"])
    return Alert(KIND, Severity.WARNING, "referral", rid, inputs.region_code,
                 f"place on cohort {record['cohort_id']} removed: {record['detail']}; tell the person the place is "
                 f"withdrawn — they are back on the waiting list and the next plan looks for another group",
                 act_by=inputs.today, pdu_code=_pdu(inputs, rid), key=record["crn"],
                 numbers={"cohort_id": record["cohort_id"], "rules": rules, "action": "removed"})


def _act_by(inputs: AlertInputs, cohort_id: str):
    cohort = inputs.cohort(cohort_id)
    return max(inputs.today, cohort.start_date) if cohort else inputs.today


def _pdu(inputs: AlertInputs, rid: str) -> str | None:
    view = inputs.referral(rid)
    return view.pdu_code if view else None


def cleared(row: dict, inputs: AlertInputs) -> str:
    r = inputs.referral(row["subject_id"])
    if r is None:
        return "the referral is closed or left the region"
    if r.cohort_id and r.cohort_id != (row.get("numbers") or {}).get("cohort_id"):
        return f"now placed on cohort {r.cohort_id}, which keeps every rule"
    if (row.get("numbers") or {}).get("action") == "removed":
        return "a plan has considered the person again" + ("" if r.cohort_id else "; see the deadline alerts")
    if not r.cohort_id:
        return "no longer holds a place" + ("" if r.status == "AWAITING_ALLOCATION" else f" (now {r.status.lower()})")
    return "the place keeps every rule again"
