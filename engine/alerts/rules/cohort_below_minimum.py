"""Cohort below its minimum size close to its start: fill it, merge it or move the start."""
from __future__ import annotations

from datetime import timedelta

from engine.alerts.inputs import UPCOMING, AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "cohort.below_minimum"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    today, out = inputs.today, []
    for c in inputs.cohorts:
        if c.status not in UPCOMING or not today < c.start_date <= today + timedelta(days=thresholds.below_minimum_days):
            continue
        if c.members >= c.min_size:
            continue
        urgent = c.start_date <= today + timedelta(days=thresholds.urgent_days)
        out.append(Alert(
            KIND, Severity.CRITICAL if urgent else Severity.WARNING, "cohort", c.cohort_id, inputs.region_code,
            f"{c.programme_code} cohort at {c.office_code} starts {c.start_date} with {c.members} of a minimum "
            f"{c.min_size} ({c.min_size - c.members} short)",
            act_by=max(today, c.start_date - timedelta(days=thresholds.urgent_days)), pdu_code=c.pdu_code,
            key=c.cohort_id, numbers={"members": c.members, "min_size": c.min_size,
                                      "start_date": c.start_date.isoformat()}))
    return out


def cleared(row: dict, inputs: AlertInputs) -> str:
    """What became of the cohort, as the state says: cancelled, completed, filled, started, or its start
    date passed without the delivery team confirming it (a proposed cohort does not run by itself)."""
    c = inputs.cohort(row["subject_id"]) or next(
        (f for f in inputs.former_cohorts if f.cohort_id == row["subject_id"]), None)
    if c is None:
        return "cohort no longer found"
    if c.status in ("CANCELLED", "COMPLETED"):
        return (f"cohort cancelled (it was to start {c.start_date})" if c.status == "CANCELLED"
                else f"cohort completed on {c.end_date}")
    if c.members >= c.min_size:
        return f"{c.members} members, minimum {c.min_size} reached"
    short = f"{c.members} of a minimum {c.min_size}"
    if c.start_date <= inputs.today:
        if c.status == "PROPOSED":
            return f"never confirmed: its start date {c.start_date} passed with {short} placed"
        return f"cohort {'started' if c.status == 'STARTED' else 'confirmed to start'} on {c.start_date} with {short}"
    was = (row.get("numbers") or {}).get("start_date")
    if was and was != c.start_date.isoformat():
        return f"start moved from {was} to {c.start_date}, outside the alert window ({short}, {c.status.lower()})"
    return f"cohort {c.status.lower()}, starting {c.start_date} ({short})"
