"""The ops workflow on an open alert: acknowledge, assign, snooze, resolve — one transaction each.

Each action checks the alert's workflow state (engine/alerts/states.py), sets the new one, appends a row
to the alert's history (``alert_actions``, kept by the stable alert id) and writes its outbound event
(``alert.acknowledged`` / ``assigned`` / ``snoozed`` / ``resolved``) to the outbox, all in the caller's unit
of work. Which transitions are allowed:

| action | from | to |
|---|---|---|
| acknowledge (note) | OPEN, ASSIGNED, SNOOZED | ACKNOWLEDGED |
| assign (user id) | OPEN, ACKNOWLEDGED, SNOOZED, ASSIGNED to someone else | ASSIGNED |
| snooze (until, note?) | OPEN, ACKNOWLEDGED, ASSIGNED, SNOOZED | SNOOZED |
| resolve (note) | OPEN, ACKNOWLEDGED, ASSIGNED, SNOOZED | RESOLVED |

Anything else (acting on a resolved alert, acknowledging twice, assigning to the same person) is an
:class:`InvalidTransition`. An assignee stays with the alert through acknowledge and snooze.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from engine.alerts.states import WorkflowState, state_of
from engine.events import outbound as o
from engine.events.envelope import Id, Label, Text
from engine.outbox import emit, stable_id
from engine.ports import UnitOfWork

S = WorkflowState
MAX_SNOOZE_DAYS = 90  # a snooze ends at the latest this many days after the day it is set

ActionName = Literal["acknowledge", "assign", "snooze", "resolve"]
_FROM: dict[str, frozenset[WorkflowState]] = {
    "acknowledge": frozenset({S.OPEN, S.ASSIGNED, S.SNOOZED}),
    "assign": frozenset({S.OPEN, S.ACKNOWLEDGED, S.ASSIGNED, S.SNOOZED}),
    "snooze": frozenset({S.OPEN, S.ACKNOWLEDGED, S.ASSIGNED, S.SNOOZED}),
    "resolve": frozenset({S.OPEN, S.ACKNOWLEDGED, S.ASSIGNED, S.SNOOZED}),
}
_TO = {"acknowledge": S.ACKNOWLEDGED, "assign": S.ASSIGNED, "snooze": S.SNOOZED, "resolve": S.RESOLVED}
_EVENTS = {"acknowledge": ("alert.acknowledged", o.AlertAcknowledged), "assign": ("alert.assigned", o.AlertAssigned),
           "snooze": ("alert.snoozed", o.AlertSnoozed), "resolve": ("alert.resolved", o.AlertResolved)}


class WorkflowError(Exception):
    """An action that cannot be applied; the message says why."""


class AlertNotFound(WorkflowError):
    """No open alert with that id in the region (another region's alert is not found either)."""


class InvalidTransition(WorkflowError):
    """The alert's workflow state does not allow the action (the API's 409)."""


class InvalidAction(WorkflowError):
    """The action's own values are wrong (the API's 422); ``field`` names the value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class Action(BaseModel):
    """One action by one person. ``actor`` is who acted (the API token's ``sub``: 1–64 characters, no control
    characters); ``user_id`` is an id like every other (``A-Z a-z 0-9 . _ : -``, 1–64); a note is free text
    (≤ 500 characters, no control characters)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: ActionName
    actor: Label
    note: Text | None = None
    user_id: Id | None = None  # assign
    until: date | None = None  # snooze


_ACTION = TypeAdapter(Action)


@dataclass(frozen=True)
class Outcome:
    """The alert as stored after the action, its history (this action last) and the message id of its event."""

    alert: dict
    history: list[dict]
    event_id: str


def make_action(**values) -> Action:
    """An :class:`Action` from plain values, or :class:`InvalidAction` naming the field."""
    try:
        action = _ACTION.validate_python(values)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidAction(".".join(str(p) for p in first["loc"]), first["msg"]) from None
    required = {"acknowledge": "note", "assign": "user_id", "snooze": "until", "resolve": "note"}[action.name]
    if getattr(action, required) is None:
        raise InvalidAction(required, f"required to {action.name}")
    return action


def check_until(until: date, today: date) -> None:
    """A snooze ends after ``today`` and at most :data:`MAX_SNOOZE_DAYS` days after it."""
    if until <= today:
        raise InvalidAction("until", f"{until} is not after {today}")
    if until > today + timedelta(days=MAX_SNOOZE_DAYS):
        raise InvalidAction("until", f"{until} is more than {MAX_SNOOZE_DAYS} days after {today}")


def apply(uow: UnitOfWork, region: str, alert_id: str, action: Action, today: date, at: datetime) -> Outcome:
    """Apply ``action`` to the region's open alert ``alert_id`` in ``uow`` (the caller commits).

    ``today`` is the engine's date for the region (snoozes are judged against it, as the sweep does);
    ``at`` dates the history row and the event."""
    alert = uow.active_alerts(region).get(alert_id)
    if alert is None:
        raise AlertNotFound(f"no open alert {alert_id} in region {region}")
    before = state_of(alert)
    if before not in _FROM[action.name]:
        raise InvalidTransition(f"cannot {action.name} alert {alert_id}: it is {before}")
    if action.name == "assign" and before is S.ASSIGNED and alert.get("assigned_to") == action.user_id:
        raise InvalidTransition(f"alert {alert_id} is already assigned to {action.user_id}")
    if action.name == "snooze":
        check_until(action.until, today)
    assigned_to = action.user_id if action.name == "assign" else alert.get("assigned_to")
    until = action.until if action.name == "snooze" else None
    uow.set_alert_workflow(alert_id, str(_TO[action.name]), assigned_to, until)
    event_type, payload_cls = _EVENTS[action.name]
    message_id = stable_id("alert", event_type, alert_id, len(uow.alert_actions(alert_id)) + 1)
    uow.record_alert_action(dict(alert_id=alert_id, region_code=region, action=action.name, actor=action.actor,
                                 at=at, note=action.note, assigned_to=assigned_to if action.name == "assign" else None,
                                 snoozed_until=until, event_id=str(message_id)))
    extra = {"assign": {"assigned_to": action.user_id}, "snooze": {"until": action.until}}.get(action.name, {})
    payload = payload_cls(alert_id=alert_id, kind=alert["kind"], subject_type=alert["subject_type"],
                          subject_id=alert["subject_id"], region_code=alert["region_code"],
                          pdu_code=alert.get("pdu_code"), severity=alert["severity"], actor=action.actor,
                          previous_state=str(before), note=action.note, **extra)
    emit(uow, event_type, alert.get("message_key") or alert["subject_id"], payload, at, message_id)
    return Outcome(alert=uow.active_alerts(region)[alert_id], history=uow.alert_actions(alert_id),
                   event_id=str(message_id))


def act(uow_factory, region: str, alert_id: str, action: Action, today: date, at: datetime) -> Outcome:
    """:func:`apply` in its own transaction (serialised with plans and sweeps by the write lock)."""
    with uow_factory() as uow:
        uow.lock_writes()
        outcome = apply(uow, region, alert_id, action, today, at)
        uow.commit()
    return outcome


__all__ = ["Action", "AlertNotFound", "InvalidAction", "InvalidTransition", "MAX_SNOOZE_DAYS", "Outcome",
           "WorkflowError", "act", "apply", "check_until", "make_action"]
