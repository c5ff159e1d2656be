"""A cohort's start (or its run) at risk for lack of trained facilitators.

Looked at for cohorts starting within ``facilitator_days`` and for running groups. A facilitator
counts when trained for the programme, in post until the group ends and not absent in its first
fortnight (a group that has started only needs the first two).
"""
from __future__ import annotations

from datetime import timedelta

from engine.alerts.inputs import RUNNING, UPCOMING, AlertInputs, CohortView
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "cohort.facilitators_short"
SCOPE = "region"
FIRST_WEEKS = timedelta(days=13)


def available(c: CohortView, inputs: AlertInputs) -> list[str]:
    started = c.start_date <= inputs.today
    ok = []
    for fid in c.facilitator_ids:
        f = inputs.facilitator(fid)
        if f is None or c.programme_code not in f.programmes or not f.in_post(c.end_date):
            continue
        if not started and f.absent(c.start_date, min(c.end_date, c.start_date + FIRST_WEEKS)):
            continue
        ok.append(fid)
    return ok


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    today, out = inputs.today, []
    for c in inputs.cohorts:
        upcoming = c.status in UPCOMING and today < c.start_date <= today + timedelta(days=thresholds.facilitator_days)
        running = c.status in RUNNING and c.start_date <= today <= c.end_date
        if not (upcoming or running) or (c.status == "PROPOSED" and c.members == 0):
            continue  # a proposal nobody was placed on will not run: cohort.below_minimum says so
        ok = available(c, inputs)
        if len(ok) >= c.facilitators_required:
            continue
        leaving = [f for f in (inputs.facilitator(x) for x in c.facilitator_ids)
                   if f is not None and not f.in_post(c.end_date)]
        first_leaver = min((f.left_on for f in leaving), default=None)
        urgent = running or not ok or c.start_date <= today + timedelta(days=thresholds.urgent_days)
        why = (f"; {', '.join(f.facilitator_id for f in leaving)} {'leaves' if len(leaving) == 1 else 'leave'} "
               f"before it ends") if leaving else ""
        dates = [d for d in (c.start_date if upcoming else None, first_leaver) if d]
        out.append(Alert(
            KIND, Severity.CRITICAL if urgent else Severity.WARNING, "cohort", c.cohort_id, inputs.region_code,
            f"{c.programme_code} cohort at {c.office_code} ({'running' if running else 'starts ' + str(c.start_date)}) "
            f"has {len(ok)} of {c.facilitators_required} trained facilitators available{why}",
            act_by=max(today, min(dates)) if dates else today,
            pdu_code=c.pdu_code, key=c.cohort_id,
            numbers={"available": len(ok), "required": c.facilitators_required, "assigned": len(c.facilitator_ids),
                     "start_date": c.start_date.isoformat()}))
    return out


def cleared(row: dict, inputs: AlertInputs) -> str:
    c = inputs.cohort(row["subject_id"])
    if c is None:
        return "cohort cancelled or completed"
    return f"{len(available(c, inputs))} of {c.facilitators_required} trained facilitators available"
