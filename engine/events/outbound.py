"""Outbound payloads: decisions, alerts, reports and dead letters (DESIGN §3). Each says why."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from engine.events.envelope import OutboundPayload


class AllocationMade(OutboundPayload):
    plan_version: int
    referral_id: str
    crn: str
    cohort_id: str
    programme_code: str
    start_date: date
    end_date: date
    deadline: date
    reason: str


class AllocationChanged(OutboundPayload):
    plan_version: int
    referral_id: str
    crn: str
    cohort_id: str
    previous_cohort_id: str
    start_date: date
    end_date: date
    deadline: date
    reason: str


class AllocationRemoved(OutboundPayload):
    plan_version: int
    referral_id: str
    crn: str
    previous_cohort_id: str
    reason: str


class CohortProposed(OutboundPayload):
    plan_version: int
    cohort_id: str
    programme_code: str
    office_code: str
    start_date: date
    end_date: date
    facilitator_ids: list[str]
    places_filled: int
    reason: str


class PlanPublished(OutboundPayload):
    plan_version: int
    region_code: str
    allocator: str
    as_of: date
    assigned: int
    unallocated: int
    cohorts_opened: int
    made: int
    changed: int
    removed: int
    status: str
    objective: dict[str, float] = Field(default_factory=dict)
    gap: float | None = None          # relative gap of tier 1 (deadline misses) to the proven bound
    best_bound: float | None = None
    note: str = ""                    # e.g. why a fallback plan was published


SubjectType = Literal["crn", "referral", "cohort", "facilitator", "programme", "event", "region"]


class AlertRaised(OutboundPayload):
    alert_id: str = Field(description="stable: kind:subject_type:subject_id, the same for as long as the condition holds")
    kind: str
    severity: Literal["INFO", "WARNING", "CRITICAL"]
    subject_type: SubjectType
    subject_id: str
    act_by: date | None = None
    reason: str
    region_code: str | None = None
    pdu_code: str | None = None
    numbers: dict[str, int | float | str | None] = Field(default_factory=dict,
                                                         description="the facts behind the reason")


class AlertUpdated(AlertRaised):
    """The same open alert with a new severity, act-by date or numbers."""

    previous_severity: Literal["INFO", "WARNING", "CRITICAL"]


class _AlertSubject(OutboundPayload):
    """Which alert a message is about."""

    alert_id: str
    kind: str
    subject_type: SubjectType
    subject_id: str
    region_code: str | None = None
    pdu_code: str | None = None


class AlertCleared(_AlertSubject):
    reason: str


class _AlertAction(_AlertSubject):
    """What a person did to an open alert (engine/alerts/workflow.py): who, when, and the alert's state."""

    severity: Literal["INFO", "WARNING", "CRITICAL"]
    actor: str = Field(description="the user id that acted (the API token's sub)")
    previous_state: Literal["OPEN", "ACKNOWLEDGED", "ASSIGNED", "SNOOZED"]
    note: str | None = None


class AlertAcknowledged(_AlertAction):
    """Seen and being dealt with: the sweep stops re-notifying it unless its severity rises."""


class AlertAssigned(_AlertAction):
    assigned_to: str


class AlertSnoozed(_AlertAction):
    """Not re-notified before ``until`` unless its severity rises."""

    until: date


class AlertResolved(_AlertAction):
    """Closed by a person; the rule raises it again (a new occurrence) if the condition still holds."""


class OverrideAdded(OutboundPayload):
    """A planner's override (docs/api.md, Overrides): every plan honours it while it is safe."""

    override_id: str
    region_code: str
    kind: Literal["keep", "never", "hold", "lock"] = Field(
        description="keep: the referral on the cohort; never: not on it; hold: out of planning until `until`; "
                    "lock: nobody joins or leaves the cohort")
    referral_id: str | None = None
    crn: str | None = None
    cohort_id: str | None = None
    until: date | None = None
    actor: str = Field(description="the user id that made it (the API token's sub)")
    reason: str = Field(description="the planner's note")


class OverrideRemoved(OverrideAdded):
    """The override no longer binds plans; ``actor`` removed it, ``reason`` is the note it was made with."""


class ReportPublished(OutboundPayload):
    report_id: str
    kind: str
    period_start: date
    period_end: date
    location: str


class DeadLettered(OutboundPayload):
    original: str = Field(description="the original message text (bytes decoded as UTF-8 with replacement)")
    original_base64: str | None = Field(None, description="the original bytes, base64, when they are not valid "
                                                          "UTF-8 (so `original` is not exact)")
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    line_number: int | None = None
    reason: str
    event_id: str | None = Field(None, description="the rejected message's event_id, when its envelope carried a "
                                                   "valid one (a UUID); null otherwise")


class EventReadmitted(OutboundPayload):
    """A message sent here as ``event.dead_lettered`` because it waited past the park timeout, applied after all:
    what it waited for arrived (docs/events.md, "Parked events"). Same topic, partition and offset as the letter."""

    topic: str
    partition: int
    offset: int | None = None
    event_id: str
    waited_for: str = Field(description="what it waited for, e.g. requirement:RQ123")
    reason: str
