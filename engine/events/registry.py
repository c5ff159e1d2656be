"""Event type → topic and payload model: the single table both decoding and schema export use."""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from engine.events import inbound as i
from engine.events import outbound as o

SENTENCES = "probation.sentences.v1"
REFERRALS = "programmes.referrals.v1"
DELIVERY = "programmes.delivery.v1"
ALLOCATIONS = "programmes.allocations.v1"
ALERTS = "programmes.alerts.v1"
REPORTS = "programmes.reports.v1"
DEADLETTER = "programmes.deadletter.v1"

INBOUND_TOPICS = (SENTENCES, REFERRALS, DELIVERY)
OUTBOUND_TOPICS = (ALLOCATIONS, ALERTS, REPORTS, DEADLETTER)


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    topic: str
    model: type[BaseModel]
    version: int = 1
    inbound: bool = True


# Event types past version 1 (each older version has its upcaster in engine/events/upcasters.py).
VERSIONS = {"person.updated": 2}  # v2: limited_access (restrictions and exclusions)


def _specs(topic: str, inbound: bool, pairs: dict[str, type[BaseModel]]) -> dict[str, EventSpec]:
    return {name: EventSpec(name, topic, model, VERSIONS.get(name, 1), inbound) for name, model in pairs.items()}


EVENTS: dict[str, EventSpec] = {
    **_specs(SENTENCES, True, {
        "sentence.imposed": i.SentenceImposed, "sentence.amended": i.SentenceAmended,
        "sentence.terminated": i.SentenceTerminated, "requirement.created": i.RequirementCreated,
        "requirement.terminated": i.RequirementTerminated,
        "licence_condition.created": i.LicenceConditionCreated,
        "licence_condition.terminated": i.LicenceConditionTerminated,
        "person.updated": i.PersonUpdated, "case.merged": i.CaseMerged,
        "enforcement.breach_raised": i.BreachRaised, "enforcement.breach_concluded": i.BreachConcluded,
        "enforcement.recall_raised": i.RecallRaised, "enforcement.recall_concluded": i.RecallConcluded,
    }),
    **_specs(REFERRALS, True, {
        "referral.created": i.ReferralCreated, "referral.assessed": i.ReferralAssessed,
        "referral.status_changed": i.ReferralStatusChanged,
        "referral.availability_updated": i.ReferralAvailabilityUpdated,
    }),
    **_specs(DELIVERY, True, {
        "cohort.planned": i.CohortPlanned, "cohort.confirmed": i.CohortConfirmed,
        "cohort.cancelled": i.CohortCancelled, "cohort.rescheduled": i.CohortRescheduled,
        "facilitator.registered": i.FacilitatorRegistered, "facilitator.updated": i.FacilitatorUpdated,
        "facilitator.absence_recorded": i.FacilitatorAbsenceRecorded,
        "facilitator.left": i.FacilitatorLeft, "attendance.recorded": i.AttendanceRecorded,
    }),
    **_specs(ALLOCATIONS, False, {
        "allocation.made": o.AllocationMade, "allocation.changed": o.AllocationChanged,
        "allocation.removed": o.AllocationRemoved, "cohort.proposed": o.CohortProposed,
        "plan.published": o.PlanPublished, "override.added": o.OverrideAdded,
        "override.removed": o.OverrideRemoved,
    }),
    **_specs(ALERTS, False, {"alert.raised": o.AlertRaised, "alert.updated": o.AlertUpdated,
                         "alert.cleared": o.AlertCleared, "alert.acknowledged": o.AlertAcknowledged,
                         "alert.assigned": o.AlertAssigned, "alert.snoozed": o.AlertSnoozed,
                         "alert.resolved": o.AlertResolved}),
    **_specs(REPORTS, False, {"report.published": o.ReportPublished}),
    **_specs(DEADLETTER, False, {"event.dead_lettered": o.DeadLettered, "event.readmitted": o.EventReadmitted}),
}

INBOUND = {name: spec for name, spec in EVENTS.items() if spec.inbound}
OUTBOUND = {name: spec for name, spec in EVENTS.items() if not spec.inbound}


def topic_of(event_type: str) -> str:
    return EVENTS[event_type].topic
