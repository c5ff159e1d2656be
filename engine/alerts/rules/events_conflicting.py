"""The same event id arrived with different content (a conflicting duplicate): the first copy stands
and the other is a dead letter holding both. No threshold — each one means a producer re-used an id
or changed an event after sending it, and someone must decide which copy was meant.

On the server clock, like :mod:`events.dead_lettered`: counted by time received, in the last hour.
"""
from __future__ import annotations

from engine.alerts.inputs import AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.rules.dead_letters import _hour
from engine.alerts.settings import AlertThresholds

KIND = "events.conflicting_duplicate"
SCOPE = "global"
SUBJECT = "conflicting-duplicates"
LABEL = "(conflicting duplicate)"


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    conflicts = [origin for _, origin in inputs.dead_letters if origin.endswith(LABEL)]
    if not conflicts:
        return []
    sources = sorted({origin.removesuffix(LABEL).strip() for origin in conflicts})
    return [Alert(
        KIND, Severity.WARNING, "event", SUBJECT, inputs.region_code,
        f"{len(conflicts)} event(s) arrived again with the same event id and different content {_hour(inputs)}, "
        f"from {', '.join(sources[:3])}; the first copy stands — compare both copies with `cohortplan deadletters` "
        f"and, if the second was meant, have the producer send it with a new event id",
        key=SUBJECT, numbers={"count": len(conflicts)})]


def cleared(row: dict, inputs: AlertInputs) -> str:
    return f"no conflicting duplicates {_hour(inputs)}"
