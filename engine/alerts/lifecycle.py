"""Raised once, updated when it changes, cleared when it ends: open alerts against what rules find now.

Pure: the stored open alerts and the current findings in, the three lists of changes out. Running it
again on its own output finds nothing to do, which is what makes a repeated sweep silent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from engine.alerts.model import Alert, _plain


@dataclass
class Changes:
    raised: list[Alert] = field(default_factory=list)
    updated: list[tuple[Alert, dict]] = field(default_factory=list)  # (now, as stored before)
    cleared: list[dict] = field(default_factory=list)  # stored rows whose condition ended

    def __bool__(self) -> bool:
        return bool(self.raised or self.updated or self.cleared)


def stored_fingerprint(row: Mapping) -> tuple:
    """:meth:`Alert.fingerprint` of an alert as stored."""
    return (str(row["severity"]), tuple(sorted((k, _plain(v)) for k, v in (row.get("numbers") or {}).items())))


def reconcile(current: Iterable[Alert], active: Mapping[str, Mapping]) -> Changes:
    """Compare this sweep's findings with the open alerts of the same kinds and region."""
    changes = Changes()
    found: dict[str, Alert] = {}
    for alert in current:
        if alert.alert_id in found:
            raise ValueError(f"rule {alert.kind} found {alert.alert_id} twice in one sweep")
        found[alert.alert_id] = alert
    for alert_id, alert in sorted(found.items()):
        before = active.get(alert_id)
        if before is None:
            changes.raised.append(alert)
        elif stored_fingerprint(before) != alert.fingerprint():
            changes.updated.append((alert, dict(before)))
    changes.cleared = [dict(row) for alert_id, row in sorted(active.items()) if alert_id not in found]
    return changes
