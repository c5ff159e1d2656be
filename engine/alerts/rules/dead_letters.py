"""Events rejected to dead letters in the last hour above a threshold: a producer or schema problem."""
from __future__ import annotations

from collections import Counter

from engine.alerts.inputs import AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds

KIND = "events.dead_lettered"
SCOPE = "global"
SUBJECT = "dead-letters"


BANDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    """One alert while more than the threshold were rejected in the hour. Its numbers move in bands
    (more than 1×, 2×, 5×, 10×… the threshold), so a steady trickle updates it a few times, not per event."""
    count, limit = len(inputs.dead_letters), thresholds.dead_letters_per_hour
    if count <= limit:
        return []
    band = max(b for b in BANDS if count > b * max(limit, 1) or b == 1)
    origins = Counter(origin for _, origin in inputs.dead_letters).most_common(3)
    return [Alert(
        KIND, Severity.CRITICAL if band >= 10 else Severity.WARNING, "event", SUBJECT, inputs.region_code,
        f"{count} events rejected to dead letters in the hour to {inputs.now:%Y-%m-%d %H:%M} UTC "
        f"(more than {band}× the threshold of {limit}); most from "
        + ", ".join(f"{origin} ({n})" for origin, n in origins),
        act_by=min(at for at, _ in inputs.dead_letters).date(), key=SUBJECT, numbers={"threshold": limit, "over_threshold_times": band})]


def cleared(row: dict, inputs: AlertInputs) -> str:
    return f"{len(inputs.dead_letters)} rejected in the last hour"
