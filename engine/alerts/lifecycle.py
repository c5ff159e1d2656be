"""Raised once, updated when it changes, cleared when it ends: open alerts against what rules find now.

Pure: the stored open alerts and the current findings in, the lists of changes out. Running it again on
its own output finds nothing to do, which is what makes a repeated sweep silent. What people did to an
alert (its workflow state, engine/alerts/states.py) decides whether a change is news.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping

from engine.alerts.model import Alert, _plain
from engine.alerts.states import WorkflowState, is_awake, is_quiet, severity_rose, state_of


@dataclass
class Changes:
    raised: list[Alert] = field(default_factory=list)
    updated: list[tuple[Alert, dict]] = field(default_factory=list)  # (now, as stored before)
    cleared: list[dict] = field(default_factory=list)  # stored rows whose condition ended
    quiet: list[tuple[Alert, dict]] = field(default_factory=list)  # changed, stored without a message
    forgotten: list[dict] = field(default_factory=list)  # resolved rows whose condition ended: no message

    def __bool__(self) -> bool:
        return bool(self.raised or self.updated or self.cleared or self.quiet or self.forgotten)


def stored_fingerprint(row: Mapping) -> tuple:
    """:meth:`Alert.fingerprint` of an alert as stored."""
    return (str(row["severity"]), tuple(sorted((k, _plain(v)) for k, v in (row.get("numbers") or {}).items())))


def reconcile(current: Iterable[Alert], active: Mapping[str, Mapping], today: date = date.min) -> Changes:
    """Compare this sweep's findings with the open alerts of the same kinds and region on ``today``.

    A resolved alert found again is raised anew; an acknowledged (or still snoozed) alert's change is
    quiet unless its severity rises; a snoozed alert whose date has come is updated (notified again)."""
    changes = Changes()
    found: dict[str, Alert] = {}
    for alert in current:
        if alert.alert_id in found:
            raise ValueError(f"rule {alert.kind} found {alert.alert_id} twice in one sweep")
        found[alert.alert_id] = alert
    for alert_id, alert in sorted(found.items()):
        before = active.get(alert_id)
        if before is None or state_of(before) is WorkflowState.RESOLVED:
            changes.raised.append(alert)
        elif is_awake(before, today):
            changes.updated.append((alert, dict(before)))
        elif stored_fingerprint(before) == alert.fingerprint():
            continue
        elif is_quiet(before, today) and not severity_rose(before, alert):
            changes.quiet.append((alert, dict(before)))
        else:
            changes.updated.append((alert, dict(before)))
    for alert_id, row in sorted(active.items()):
        if alert_id not in found:
            ended = changes.forgotten if state_of(row) is WorkflowState.RESOLVED else changes.cleared
            ended.append(dict(row))
    return changes
