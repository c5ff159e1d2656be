"""One small function per inbound event type; :data:`HANDLERS` maps the wire name to it.

Every handler runs after the reference check (:func:`engine.handlers.reference.checked`): a payload naming
an unknown programme, region, PDU or office code is refused before anything changes.
"""
from __future__ import annotations

from typing import Callable

from engine.handlers import delivery as d
from engine.handlers import referrals as r
from engine.handlers import sentences as s
from engine.handlers.context import Context, Parked, Stale
from engine.handlers.reference import checked

HANDLERS: dict[str, Callable] = {name: checked(handler) for name, handler in {
    "person.updated": s.person_updated,
    "sentence.imposed": s.sentence_imposed,
    "sentence.amended": s.sentence_amended,
    "sentence.terminated": s.sentence_terminated,
    "requirement.created": s.requirement_created,
    "requirement.terminated": s.requirement_terminated,
    "licence_condition.created": s.licence_condition_created,
    "licence_condition.terminated": s.licence_condition_terminated,
    "case.merged": s.case_merged,
    "enforcement.breach_raised": s.breach_raised,
    "enforcement.breach_concluded": s.breach_concluded,
    "enforcement.recall_raised": s.recall_raised,
    "enforcement.recall_concluded": s.recall_concluded,
    "referral.created": r.referral_created,
    "referral.assessed": r.referral_assessed,
    "referral.status_changed": r.referral_status_changed,
    "referral.availability_updated": r.referral_availability_updated,
    "cohort.planned": d.cohort_planned,
    "cohort.confirmed": d.cohort_confirmed,
    "cohort.cancelled": d.cohort_cancelled,
    "cohort.rescheduled": d.cohort_rescheduled,
    "facilitator.registered": d.facilitator_registered,
    "facilitator.updated": d.facilitator_updated,
    "facilitator.absence_recorded": d.facilitator_absence_recorded,
    "facilitator.left": d.facilitator_left,
    "attendance.recorded": d.attendance_recorded,
}.items()}

__all__ = ["HANDLERS", "Context", "Parked", "Stale"]
