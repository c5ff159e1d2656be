"""Inbound payloads, one model per event type, grouped by topic (DESIGN §3).

Every field is bounded (docs/events.md, "Limits"): strings by the types of :mod:`engine.events.envelope`
(ids, codes, free text; no control characters), lists by a maximum length, booleans and numbers strict.
Codes are checked against the reference data when the event is applied (:mod:`engine.handlers.reference`).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt

from engine.events.envelope import Code, Crn, Day, Id, Label, Number, Payload, Text

Sex = Literal["MALE", "FEMALE"]
Period = Literal["DAYTIME", "EVENING"]
Band = Literal["HIGH", "MEDIUM", "LOW"]
# The five ONS high-level ethnic groups (the reference data has no finer list; the generator draws these).
EthnicityGroup = Literal["ASIAN", "BLACK", "MIXED", "OTHER", "WHITE"]
Weekday = Annotated[StrictInt, Field(ge=0, le=6, description="0 = Monday")]
Hours = Annotated[Number, Field(gt=0, le=60)]
Score = Annotated[Number, Field(ge=0, le=100)]

# How many items a list may hold: a week has 7 days (slots) and 14 day/evening windows (availability).
MAX_NON_ASSOCIATIONS, MAX_MEMBERS, MAX_FACILITATORS, MAX_SLOTS, MAX_AVAILABILITY = 50, 30, 10, 7, 14
MAX_OFFICES, MAX_PROGRAMMES = 50, 30
MAX_ACCESS_USERS = 200  # users a restriction or an exclusion lists
Offices = Annotated[list[Code], Field(max_length=MAX_OFFICES)]
Programmes = Annotated[list[Code], Field(max_length=MAX_PROGRAMMES)]


class AvailabilityWindow(Payload):
    weekday: Weekday
    period: Period


class SlotPayload(Payload):
    weekday: Weekday
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", max_length=5, strict=True)
    period: Period = "DAYTIME"


Availability = Annotated[list[AvailabilityWindow], Field(max_length=MAX_AVAILABILITY)]


# --- probation.sentences.v1 (key crn) -------------------------------------------------------

class SentenceImposed(Payload):
    crn: Crn
    sentence_id: Id
    sentence_type: Literal["COMMUNITY_ORDER", "SUSPENDED_SENTENCE_ORDER", "LICENCE"]
    start_date: Day
    expected_end_date: Day


class SentenceAmended(Payload):
    crn: Crn
    sentence_id: Id
    expected_end_date: Day
    reason: Text = "AMENDED"


class SentenceTerminated(Payload):
    crn: Crn
    sentence_id: Id
    terminated_on: Day
    reason: Text = "TERMINATED"


class RequirementCreated(Payload):
    crn: Crn
    sentence_id: Id
    requirement_id: Id
    programme_code: Code
    end_date: Day | None = None


class RequirementTerminated(Payload):
    crn: Crn
    requirement_id: Id
    terminated_on: Day
    reason: Text = "TERMINATED"


class LicenceConditionCreated(Payload):
    crn: Crn
    sentence_id: Id
    licence_condition_id: Id
    programme_code: Code
    end_date: Day | None = None


class LicenceConditionTerminated(Payload):
    crn: Crn
    licence_condition_id: Id
    terminated_on: Day
    reason: Text = "TERMINATED"


Users = Annotated[list[Id], Field(max_length=MAX_ACCESS_USERS)]


class LimitedAccess(Payload):
    """A limited-access case (the case system's restrictions and exclusions), by user id (the API's ``sub``)."""

    restrictions: Users = Field([], description="only these users may see the case; empty: no restriction")
    exclusions: Users = Field([], description="these users may not see the case")


class PersonUpdated(Payload):
    """Partial update: absent fields keep their value. Version 2 adds ``limited_access``; a v1 payload is
    lifted by :func:`engine.events.upcasters.person_updated_v1_to_v2`."""

    crn: Crn
    region_code: Code | None = None
    pdu_code: Code | None = None
    sex: Sex | None = None
    date_of_birth: Day | None = None
    ethnicity_group: EthnicityGroup | None = None
    ldc: StrictBool | None = None
    interpreter_needed: StrictBool | None = None
    non_associations: Annotated[list[Crn], Field(max_length=MAX_NON_ASSOCIATIONS)] | None = None
    limited_access: LimitedAccess | None = Field(
        None, description="since v2: who may see the case; absent or null keeps the rule, an object replaces it "
                          "(empty lists: an ordinary case again)")


class CaseMerged(Payload):
    source_crn: Crn
    target_crn: Crn


class BreachRaised(Payload):
    crn: Crn
    sentence_id: Id
    breach_id: Id
    raised_on: Day


class BreachConcluded(Payload):
    crn: Crn
    sentence_id: Id
    breach_id: Id
    concluded_on: Day
    outcome: Literal["CONTINUE", "EXTENDED", "REVOKED"]
    new_end_date: Day | None = Field(None, description="when the court extended the order")


class RecallRaised(Payload):
    crn: Crn
    sentence_id: Id
    recall_id: Id
    raised_on: Day


class RecallConcluded(Payload):
    crn: Crn
    sentence_id: Id
    recall_id: Id
    concluded_on: Day
    outcome: Literal["RE_RELEASED", "CUSTODY"]


# --- programmes.referrals.v1 (key crn) ------------------------------------------------------

class ReferralCreated(Payload):
    referral_id: Id
    crn: Crn
    requirement_id: Id
    programme_code: Code
    source: Code = "COMMUNITY"
    referred_on: Day


class ReferralAssessed(Payload):
    referral_id: Id
    crn: Crn
    outcome: Literal["SUITABLE", "SUITABLE_NOT_READY", "NOT_SUITABLE"]
    pathway: Literal["HIGH", "MODERATE"] = "MODERATE"
    offence_cohort: Literal["GENERAL_OFFENCE", "SEXUAL_OFFENCE"] = "GENERAL_OFFENCE"
    ldc: StrictBool = False
    ogrs3: Score | None = None
    ovp: Score | None = None
    rsr: Score | None = None
    osp: Band | None = None
    sara: Band | None = None
    need_score: StrictInt = Field(4, ge=0, le=8)
    ready_from: Day | None = None


class ReferralStatusChanged(Payload):
    referral_id: Id
    crn: Crn
    to_status: Label = Field(description="status name, label or nDelius code")
    reason: Text = ""
    ready_from: Day | None = None


class ReferralAvailabilityUpdated(Payload):
    referral_id: Id
    crn: Crn
    availability: Availability = Field(default_factory=list)
    preferred_offices: Offices = Field(default_factory=list)
    cannot_attend_offices: Offices = Field(default_factory=list)


# --- programmes.delivery.v1 (key region) ----------------------------------------------------

class CohortPlanned(Payload):
    cohort_id: Id
    region_code: Code
    programme_code: Code
    pathway: Literal["HIGH", "MODERATE"] = "MODERATE"
    office_code: Code
    pdu_code: Code
    sex: Literal["MALE", "FEMALE", "MIXED"]
    offence_cohort: Literal["GENERAL_OFFENCE", "SEXUAL_OFFENCE"] = "GENERAL_OFFENCE"
    ldc: StrictBool = False
    slots: list[SlotPayload] = Field(min_length=1, max_length=MAX_SLOTS)
    start_date: Day
    min_size: StrictInt | None = Field(None, ge=1, le=20)
    max_size: StrictInt | None = Field(None, ge=1, le=20)


class CohortConfirmed(Payload):
    cohort_id: Id
    facilitator_ids: list[Id] = Field(default_factory=list, max_length=MAX_FACILITATORS)
    members: list[Id] = Field(default_factory=list, max_length=MAX_MEMBERS,
                              description="referral ids placed by the delivery team")


class CohortCancelled(Payload):
    cohort_id: Id
    reason: Text = ""


class CohortRescheduled(Payload):
    cohort_id: Id
    start_date: Day
    slots: Annotated[list[SlotPayload], Field(max_length=MAX_SLOTS)] | None = None


class FacilitatorRegistered(Payload):
    facilitator_id: Id
    region_code: Code
    home_pdu: Code
    programmes: Programmes = Field(min_length=1)
    offices: Offices = Field(default_factory=list)
    weekly_hours: Hours
    availability: Availability = Field(default_factory=list)


class FacilitatorUpdated(Payload):
    facilitator_id: Id
    programmes: Programmes | None = None
    offices: Offices | None = None
    weekly_hours: Hours | None = None
    availability: Availability | None = None


class FacilitatorAbsenceRecorded(Payload):
    facilitator_id: Id
    from_date: Day
    to_date: Day


class FacilitatorLeft(Payload):
    facilitator_id: Id
    left_on: Day


class AttendanceRecorded(Payload):
    cohort_id: Id
    referral_id: Id
    session_number: StrictInt = Field(ge=1, le=200)
    session_date: Day
    outcome: Literal["ATTC", "AFTC", "UAAB", "ACCEPTABLE_ABSENCE"]
    final_session: StrictBool = False
