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
    c = inputs.cohort(row["subject_id"])
    if c is None:
        return "cohort cancelled or completed"
    if c.members >= c.min_size:
        return f"{c.members} members, minimum {c.min_size} reached"
    return f"cohort {c.status.lower()}, starting {c.start_date}"
