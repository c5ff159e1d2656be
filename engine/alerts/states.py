"""An alert's workflow state, beside its rule state: what people did about it, and what that means for the sweep.

Pure rules shared by the workflow service (engine/alerts/workflow.py, which moves an alert between states)
and the sweep's reconcile (engine/alerts/lifecycle.py, which decides whether a change is news):

- ``OPEN`` (also a stored ``None``) and ``ASSIGNED``: notified as ever (raised, updated, cleared);
- ``ACKNOWLEDGED``, and ``SNOOZED`` until its date: *quiet* — a change is stored without ``alert.updated``,
  unless the severity rises, which is notified and drops the acknowledgement or snooze;
- ``SNOOZED`` once its date has come: *awake* — the next sweep that still finds it notifies it again;
- ``RESOLVED``: closed by a person; the next sweep raises it as a new occurrence if the rule still finds it,
  and forgets it silently (no ``alert.cleared``) if not.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Mapping

from engine.alerts.model import Alert, Severity


class WorkflowState(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    ASSIGNED = "ASSIGNED"
    SNOOZED = "SNOOZED"
    RESOLVED = "RESOLVED"


def state_of(row: Mapping) -> WorkflowState:
    """The workflow state of a stored alert (rows stored before the workflow existed are OPEN)."""
    return WorkflowState(row.get("workflow_state") or WorkflowState.OPEN)


def is_quiet(row: Mapping, today: date) -> bool:
    """Acknowledged, or snoozed until after ``today``: changes are not notified unless the severity rises."""
    state = state_of(row)
    return state is WorkflowState.ACKNOWLEDGED or (
        state is WorkflowState.SNOOZED and row.get("snoozed_until") is not None and row["snoozed_until"] > today)


def is_awake(row: Mapping, today: date) -> bool:
    """Snoozed, and its date has come: the sweep notifies it again."""
    return state_of(row) is WorkflowState.SNOOZED and not is_quiet(row, today)


def severity_rose(before: Mapping, now: Alert) -> bool:
    return Severity(now.severity).rank > Severity(before["severity"]).rank


def settled(row: Mapping) -> WorkflowState:
    """Where an acknowledgement or snooze falls back to when it ends: ASSIGNED if someone holds it, else OPEN."""
    return WorkflowState.ASSIGNED if row.get("assigned_to") else WorkflowState.OPEN
