"""The last plan set aside planner overrides it could not honour safely (a non-association or a corrected record
arrived after the override was made, the cohort filled): a decision people made is not being carried out, and
they should know. WARNING, for the planners: the reason names each override and why; removing or replacing the
override (or correcting the record) ends it.
"""
from __future__ import annotations

from engine.alerts.inputs import AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "override.set_aside"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    found = inputs.overrides_set_aside
    if not found:
        return []
    listed = "; ".join(f"{oid}: {', '.join(why)}" for oid, why in sorted(found.items()))
    return [Alert(KIND, Severity.WARNING, "region", inputs.region_code, inputs.region_code,
                  f"{len(found)} planner override(s) set aside by the last plan because honouring them would break a "
                  f"rule — {listed}; remove or replace them (GET /regions/{inputs.region_code}/overrides)",
                  act_by=inputs.today, key=inputs.region_code,
                  numbers={"overrides": ", ".join(sorted(found))})]


def cleared(row: dict, inputs: AlertInputs) -> str:
    return "the last plan honoured every planner override in force"
