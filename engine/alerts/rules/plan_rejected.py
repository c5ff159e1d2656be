"""The last plan of a region was not published because it would have broken an invariant (the gate in
:mod:`engine.services.gate`): the previous plan stands. CRITICAL — it means a solver or engine bug,
for the developers on call; the reason names the rules and the ids.
"""
from __future__ import annotations

from engine.alerts.inputs import AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "plan.rejected"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    found = inputs.plan_rejection
    if not found:
        return []
    shown = "; ".join(f"{v['rule']} [{v['subject']}]: {v['detail']}" for v in found["violations"][:5])
    return [Alert(KIND, Severity.CRITICAL, "region", inputs.region_code, inputs.region_code,
                  f"the {found['allocator']} plan as of {found['as_of']} was not published: {found['count']} "
                  f"invariant violation(s), the previous plan stands: {shown}",
                  act_by=inputs.today, key=inputs.region_code,
                  numbers={"as_of": found["as_of"], "count": found["count"],
                           "rules": ",".join(sorted({v["rule"] for v in found["violations"]}))})]


def cleared(row: dict, inputs: AlertInputs) -> str:
    return "a later plan passed every invariant and was published"
