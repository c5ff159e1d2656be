"""Inbound payloads, one model per event type, grouped by topic (DESIGN §3)."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from engine.events.envelope import Payload

Sex = Literal["MALE", "FEMALE"]
Period = Literal["DAYTIME", "EVENING"]
Band = Literal["HIGH", "MEDIUM", "LOW"]
Crn = Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9]+$")


class AvailabilityWindow(Payload):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    period: Period


class SlotPayload(Payload):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    period: Period = "DAYTIME"


# --- probation.sentences.v1 (key crn) -------------------------------------------------------

class SentenceImposed(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    sentence_type: Literal["COMMUNITY_ORDER", "SUSPENDED_SENTENCE_ORDER", "LICENCE"]
    start_date: date
    expected_end_date: date


class SentenceAmended(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    expected_end_date: date
    reason: str = "AMENDED"


class SentenceTerminated(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    terminated_on: date
    reason: str = "TERMINATED"


class RequirementCreated(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    requirement_id: str = Field(min_length=1)
    programme_code: str = Field(min_length=1)
    end_date: date | None = None


class RequirementTerminated(Payload):
    crn: str = Crn
    requirement_id: str = Field(min_length=1)
    terminated_on: date
    reason: str = "TERMINATED"


class LicenceConditionCreated(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    licence_condition_id: str = Field(min_length=1)
    programme_code: str = Field(min_length=1)
    end_date: date | None = None


class LicenceConditionTerminated(Payload):
    crn: str = Crn
    licence_condition_id: str = Field(min_length=1)
    terminated_on: date
    reason: str = "TERMINATED"


class PersonUpdated(Payload):
    """Partial update: absent fields keep their value."""

    crn: str = Crn
    region_code: str | None = None
    pdu_code: str | None = None
    sex: Sex | None = None
    date_of_birth: date | None = None
    ethnicity_group: str | None = None
    ldc: bool | None = None
    interpreter_needed: bool | None = None
    non_associations: list[str] | None = None


class CaseMerged(Payload):
    source_crn: str = Crn
    target_crn: str = Crn


class BreachRaised(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    breach_id: str = Field(min_length=1)
    raised_on: date


class BreachConcluded(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    breach_id: str = Field(min_length=1)
    concluded_on: date
    outcome: Literal["CONTINUE", "EXTENDED", "REVOKED"]
    new_end_date: date | None = Field(None, description="when the court extended the order")


class RecallRaised(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    recall_id: str = Field(min_length=1)
    raised_on: date


class RecallConcluded(Payload):
    crn: str = Crn
    sentence_id: str = Field(min_length=1)
    recall_id: str = Field(min_length=1)
    concluded_on: date
    outcome: Literal["RE_RELEASED", "CUSTODY"]


# --- programmes.referrals.v1 (key crn) ------------------------------------------------------

class ReferralCreated(Payload):
    referral_id: str = Field(min_length=1)
    crn: str = Crn
    requirement_id: str = Field(min_length=1)
    programme_code: str = Field(min_length=1)
    source: str = "COMMUNITY"
    referred_on: date


class ReferralAssessed(Payload):
    referral_id: str = Field(min_length=1)
    crn: str = Crn
    outcome: Literal["SUITABLE", "SUITABLE_NOT_READY", "NOT_SUITABLE"]
    pathway: Literal["HIGH", "MODERATE"] = "MODERATE"
    offence_cohort: Literal["GENERAL_OFFENCE", "SEXUAL_OFFENCE"] = "GENERAL_OFFENCE"
    ldc: bool = False
    ogrs3: float | None = Field(None, ge=0, le=100)
    ovp: float | None = Field(None, ge=0, le=100)
    rsr: float | None = Field(None, ge=0, le=100)
    osp: Band | None = None
    sara: Band | None = None
    need_score: int = Field(4, ge=0, le=8)
    ready_from: date | None = None


class ReferralStatusChanged(Payload):
    referral_id: str = Field(min_length=1)
    crn: str = Crn
    to_status: str = Field(min_length=1, description="status name, label or nDelius code")
    reason: str = ""
    ready_from: date | None = None


class ReferralAvailabilityUpdated(Payload):
    referral_id: str = Field(min_length=1)
    crn: str = Crn
    availability: list[AvailabilityWindow] = Field(default_factory=list)
    preferred_offices: list[str] = Field(default_factory=list)
    cannot_attend_offices: list[str] = Field(default_factory=list)


# --- programmes.delivery.v1 (key region) ----------------------------------------------------

class CohortPlanned(Payload):
    cohort_id: str = Field(min_length=1)
    region_code: str = Field(min_length=1)
    programme_code: str = Field(min_length=1)
    pathway: Literal["HIGH", "MODERATE"] = "MODERATE"
    office_code: str = Field(min_length=1)
    pdu_code: str = Field(min_length=1)
    sex: Literal["MALE", "FEMALE", "MIXED"]
    offence_cohort: Literal["GENERAL_OFFENCE", "SEXUAL_OFFENCE"] = "GENERAL_OFFENCE"
    ldc: bool = False
    slots: list[SlotPayload] = Field(min_length=1)
    start_date: date
    min_size: int | None = Field(None, ge=1, le=20)
    max_size: int | None = Field(None, ge=1, le=20)


class CohortConfirmed(Payload):
    cohort_id: str = Field(min_length=1)
    facilitator_ids: list[str] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list, description="referral ids placed by the delivery team")


class CohortCancelled(Payload):
    cohort_id: str = Field(min_length=1)
    reason: str = ""


class CohortRescheduled(Payload):
    cohort_id: str = Field(min_length=1)
    start_date: date
    slots: list[SlotPayload] | None = None


class FacilitatorRegistered(Payload):
    facilitator_id: str = Field(min_length=1)
    region_code: str = Field(min_length=1)
    home_pdu: str = Field(min_length=1)
    programmes: list[str] = Field(min_length=1)
    offices: list[str] = Field(default_factory=list)
    weekly_hours: float = Field(gt=0, le=60)
    availability: list[AvailabilityWindow] = Field(default_factory=list)


class FacilitatorUpdated(Payload):
    facilitator_id: str = Field(min_length=1)
    programmes: list[str] | None = None
    offices: list[str] | None = None
    weekly_hours: float | None = Field(None, gt=0, le=60)
    availability: list[AvailabilityWindow] | None = None


class FacilitatorAbsenceRecorded(Payload):
    facilitator_id: str = Field(min_length=1)
    from_date: date
    to_date: date


class FacilitatorLeft(Payload):
    facilitator_id: str = Field(min_length=1)
    left_on: date


class AttendanceRecorded(Payload):
    cohort_id: str = Field(min_length=1)
    referral_id: str = Field(min_length=1)
    session_number: int = Field(ge=1)
    session_date: date
    outcome: Literal["ATTC", "AFTC", "UAAB", "ACCEPTABLE_ABSENCE"]
    final_session: bool = False
