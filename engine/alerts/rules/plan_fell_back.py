"""The region's last published plan is current practice's because CP-SAT could not do better in its time
(no solution in the budget, worse on deadline misses, or its plan failed the checker): the gain the
service exists for was not delivered this week. WARNING, for the planners and whoever sets the budget;
the reason says why and how long it had (BENCHMARKS.md: where each region size needs more seconds).
"""
from __future__ import annotations

from engine.alerts.inputs import AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "plan.fell_back"
SCOPE = "region"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    found = inputs.plan_fallback
    if not found:
        return []
    return [Alert(KIND, Severity.WARNING, "region", inputs.region_code, inputs.region_code,
                  f"plan {found['plan_version']} as of {found['as_of']} is current practice's: the {found['allocator']} "
                  f"solve fell back ({found['note'] or 'no reason given'}) after {found['seconds']:g} s, every plan "
                  f"since {found['since']}; "
                  f"if it happens every week, unset COHORTPLAN_SOLVER_TIME_LIMIT_S (sized to the region) or raise it",
                  act_by=inputs.today, key=inputs.region_code,
                  numbers={"since": found["since"]})]  # one alert while the plans keep falling back


def cleared(row: dict, inputs: AlertInputs) -> str:
    return "a later plan was the solver's own"
