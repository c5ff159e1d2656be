"""The alert sweep: evaluate every rule on a region's state, then raise, update and clear.

Runs inside the caller's transaction (after a plan is published, or on its own timer), so alerts
and the state they describe commit together; the outbound messages go to the outbox like every
decision, and only the outbox's readers deliver them (the topic, the file, the webhook, email).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import ModuleType

from engine import state_keys as keys
from engine.alerts.gather import dead_letter_inputs, gather
from engine.alerts.inputs import AlertInputs
from engine.alerts.lifecycle import Changes, reconcile
from engine.alerts.model import ALL_REGIONS, Alert, _plain
from engine.alerts.rules import RULES
from engine.alerts.rules.deadline_at_risk import KIND as AT_RISK
from engine.alerts.rules.deadline_missed import KIND as MISSED
from engine.alerts.settings import AlertThresholds
from engine.alerts.states import WorkflowState, settled
from engine.events import outbound as o
from engine.events.envelope import new_envelope
from engine.events.registry import topic_of
from engine.domain.rules import EngineRules
from engine.outbox import day_time, stable_id
from engine.ports import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    raised: int = 0
    updated: int = 0
    cleared: int = 0
    open: dict[str, list[str]] = field(default_factory=dict)  # kind → open subject ids (this region)

    @property
    def at_risk(self) -> list[str]:
        """Referral ids with an open ``deadline.at_risk`` alert."""
        return self.open.get(AT_RISK, [])

    @property
    def missed(self) -> list[str]:
        """Referral ids with an open ``deadline.missed`` alert."""
        return self.open.get(MISSED, [])

    def add(self, other: "SweepResult") -> None:
        self.raised += other.raised
        self.updated += other.updated
        self.cleared += other.cleared
        for kind, ids in other.open.items():
            self.open.setdefault(kind, []).extend(ids)


class AlertSweep:
    def __init__(self, rules: EngineRules, thresholds: AlertThresholds | None = None,
                 modules: tuple[ModuleType, ...] = RULES) -> None:
        self.rules, self.thresholds = rules, thresholds or AlertThresholds()
        self.regional = tuple(m for m in modules if m.SCOPE == "region")
        self.global_ = tuple(m for m in modules if m.SCOPE == "global")

    def run(self, uow: UnitOfWork, region: str, today: date, at: datetime,
            now: datetime | None = None) -> SweepResult:
        """Sweep one region (and the rules about no region). ``at`` dates the messages (the plan's
        clock, so replays match); ``now`` is the wall clock for counts over the last hour."""
        now = now or datetime.now(timezone.utc)
        result = self._apply(uow, gather(uow, region, today, now, self.rules, self.thresholds.breach_window_days),
                             self.regional, at)
        if self.global_:
            result.add(self._apply(uow, dead_letter_inputs(uow, now, today), self.global_, at))
        return result

    def sweep(self, uow_factory, region: str, today: date, now: datetime | None = None) -> SweepResult:
        """A sweep in its own transaction (between plans: the date moved on, events were rejected),
        dated like a plan of that day."""
        with uow_factory() as uow:
            uow.lock_writes()
            result = self.run(uow, region, today, day_time(today), now)
            uow.commit()
        return result

    def _apply(self, uow: UnitOfWork, inputs: AlertInputs, modules, at: datetime) -> SweepResult:
        found: list[Alert] = []
        for module in modules:
            found += module.evaluate(inputs, self.thresholds)
        by_kind = {m.KIND: m for m in modules}
        active = uow.active_alerts(inputs.region_code, kinds=list(by_kind))
        changes = reconcile(found, active, inputs.today)
        result = SweepResult(open={kind: sorted(a.subject_id for a in found if a.kind == kind) for kind in by_kind})
        if changes:
            # Message ids come from the alert and the sweep's number in its region: an alert can be
            # raised, cleared and raised again on one day (plans re-run all day), and a replay of the
            # same input numbers its sweeps the same way.
            sequence = uow.bump_state(keys.ALERT_SWEEPS.key(inputs.region_code))
            self._write(uow, changes, by_kind, inputs, at, sequence, result)
        return result

    def _write(self, uow: UnitOfWork, changes: Changes, by_kind, inputs: AlertInputs, at: datetime,
               sequence: int, result: SweepResult) -> None:
        for alert in changes.raised:  # a new occurrence starts OPEN (after a resolve too)
            uow.raise_alert(_row(alert, raised_at=at, updated_at=at) | dict(
                workflow_state=str(WorkflowState.OPEN), assigned_to=None, snoozed_until=None))
            self._emit(uow, "alert.raised", alert.key or alert.subject_id, o.AlertRaised(**_payload(alert)),
                       at, result, sequence, alert.alert_id)
            result.raised += 1
        for alert, before in changes.quiet:  # acknowledged or snoozed: stored, not notified
            uow.raise_alert(_row(alert, raised_at=before["raised_at"], updated_at=at))
        for row in changes.forgotten:  # resolved by a person, and the condition ended: alert.resolved said it
            uow.clear_alert(row["alert_id"])
        for alert, before in changes.updated:  # notified: an acknowledgement or snooze ends here
            uow.raise_alert(_row(alert, raised_at=before["raised_at"], updated_at=at) | dict(
                workflow_state=str(settled(before)), snoozed_until=None))
            self._emit(uow, "alert.updated", alert.key or alert.subject_id, o.AlertUpdated(
                **_payload(alert), previous_severity=before["severity"]), at, result, sequence, alert.alert_id)
            result.updated += 1
        for row in changes.cleared:
            module = by_kind[row["kind"]]
            reason = module.cleared(row, inputs) if hasattr(module, "cleared") else "condition no longer holds"
            uow.clear_alert(row["alert_id"])
            self._emit(uow, "alert.cleared", row.get("message_key") or row["subject_id"], o.AlertCleared(
                alert_id=row["alert_id"], kind=row["kind"], subject_type=row["subject_type"],
                subject_id=row["subject_id"], region_code=row["region_code"], pdu_code=row.get("pdu_code"),
                reason=reason), at, result, sequence, row["alert_id"])
            result.cleared += 1
        if changes:
            log.info("alerts %s: %d raised, %d updated, %d cleared", inputs.region_code,
                     len(changes.raised), len(changes.updated), len(changes.cleared))

    @staticmethod
    def _emit(uow: UnitOfWork, event_type: str, key: str, payload, at: datetime, result: SweepResult,
              sequence: int, alert_id: str) -> None:
        message_id = stable_id("alert", event_type, alert_id, sequence)
        envelope = new_envelope(event_type, key, payload, at, event_id=message_id)
        uow.emit(str(message_id), topic_of(event_type), key, event_type, envelope.model_dump_json(), at)


def _payload(alert: Alert) -> dict:
    return dict(alert_id=alert.alert_id, kind=alert.kind, severity=str(alert.severity),
                subject_type=alert.subject_type, subject_id=alert.subject_id, region_code=alert.region_code,
                pdu_code=alert.pdu_code, act_by=alert.act_by, reason=alert.reason,
                numbers={k: _plain(v) for k, v in alert.numbers.items()})


def _row(alert: Alert, raised_at: datetime, updated_at: datetime) -> dict:
    return dict(alert_id=alert.alert_id, kind=alert.kind, region_code=alert.region_code,
                subject_type=alert.subject_type, subject_id=alert.subject_id, severity=str(alert.severity),
                raised_at=raised_at, updated_at=updated_at, act_by=alert.act_by, reason=alert.reason,
                pdu_code=alert.pdu_code, numbers={k: _plain(v) for k, v in alert.numbers.items()},
                message_key=alert.key or alert.subject_id)


__all__ = ["ALL_REGIONS", "AlertSweep", "SweepResult"]
