"""Events rejected to dead letters in the last hour above a threshold: a producer or schema problem.

One clock, the server's: letters are counted by when they were received (``received_at``, the wall clock
the sweep passes as ``now``), not by the events' own time (a rejected line may have none) nor by the plan
date the sweep runs as of, which in a replay is months or years away. So the reason names its hour on the
server clock and says so, and the alert carries no act-by date: act-by dates are on the plan calendar, and
a server-clock date in that column reads as one.
"""
from __future__ import annotations

from collections import Counter
from datetime import timezone

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
        f"{count} events rejected to dead letters {_hour(inputs)}; "
        f"more than {band}× the threshold of {limit}; most from "
        + ", ".join(f"{origin} ({n})" for origin, n in origins),
        key=SUBJECT, numbers={"threshold": limit, "over_threshold_times": band})]


def cleared(row: dict, inputs: AlertInputs) -> str:
    return f"{len(inputs.dead_letters)} rejected {_hour(inputs)}"


def _hour(inputs: AlertInputs) -> str:
    now = inputs.now.astimezone(timezone.utc) if inputs.now.tzinfo else inputs.now
    return f"in the hour to {now:%Y-%m-%d %H:%M} UTC by the server clock (time received)"
