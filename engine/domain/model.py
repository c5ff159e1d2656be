"""Entities of the waiting list: people, sentences, requirements, referrals, cohorts, facilitators.

Mutable aggregates with their own rules; standard library only. Identifiers are the ones the
probation systems use (crn, sentence_id, requirement_id); names are never stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from engine.domain.calendar import WeeklySlot
from engine.domain.errors import DomainError
from engine.domain.statuses import (ALLOCATION_ONLY, CONTINUING, InvalidTransition, ReferralStatus,
                                    check_transition)

Availability = frozenset[tuple[int, str]]  # (weekday 0=Mon, "DAYTIME" | "EVENING")


class SentenceType(StrEnum):
    COMMUNITY_ORDER = "COMMUNITY_ORDER"
    SUSPENDED_SENTENCE_ORDER = "SUSPENDED_SENTENCE_ORDER"
    LICENCE = "LICENCE"


class LifeStatus(StrEnum):
    """Status of a sentence or requirement as the case system reports it."""

    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"
    BREACHED = "BREACHED"
    RECALLED = "RECALLED"


class CohortStatus(StrEnum):
    PROPOSED = "PROPOSED"
    CONFIRMED = "CONFIRMED"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


@dataclass
class Person:
    crn: str
    region_code: str = ""
    pdu_code: str = ""
    sex: str = "MALE"
    date_of_birth: date | None = None
    ethnicity_group: str = ""
    ldc: bool = False
    availability: Availability = frozenset()
    preferred_offices: frozenset[str] = frozenset()
    cannot_attend_offices: frozenset[str] = frozenset()
    interpreter_needed: bool = False
    non_associations: frozenset[str] = frozenset()
    merged_into: str | None = None
    updated_at: datetime | None = None
    field_times: dict[str, datetime] = field(default_factory=dict)  # event time each field was last set


@dataclass
class Sentence:
    sentence_id: str
    crn: str
    sentence_type: SentenceType
    start_date: date
    expected_end_date: date
    status: LifeStatus = LifeStatus.ACTIVE
    updated_at: datetime | None = None


@dataclass
class Requirement:
    """A programme requirement of an order, or a licence condition (kind says which)."""

    requirement_id: str
    crn: str
    sentence_id: str
    programme_code: str
    kind: str = "REQUIREMENT"  # REQUIREMENT | LICENCE_CONDITION
    end_date: date | None = None  # set when the court gave an earlier date than the sentence end
    status: LifeStatus = LifeStatus.ACTIVE
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    reason: str
    event_id: str = ""


@dataclass
class Referral:
    referral_id: str
    crn: str
    requirement_id: str
    programme_code: str
    source: str
    referred_on: date
    status: ReferralStatus = ReferralStatus.AWAITING_ASSESSMENT
    pathway: str = "MODERATE"
    offence_cohort: str = "GENERAL_OFFENCE"
    ldc: bool = False
    risk_band: str = "MEDIUM"
    need_band: str = "MEDIUM"
    ready_from: date | None = None
    cohort_id: str | None = None  # the group place held, if any
    history: list[StatusChange] = field(default_factory=list)
    updated_at: datetime | None = None

    def move_to(self, to: ReferralStatus, at: datetime, reason: str, event_id: str = "",
                by_allocation: bool = False) -> bool:
        """Apply one transition of the status graph; returns True when the group place is freed."""
        if to in ALLOCATION_ONLY and not by_allocation:
            raise InvalidTransition(self.referral_id, self.status, to,
                                    "only an allocation can schedule a referral")
        check_transition(self.referral_id, self.status, to)
        frees_place = self.cohort_id is not None and (self.status, to) not in CONTINUING
        self.history.append(StatusChange(at, self.status, to, reason, event_id))
        self.status = to
        if frees_place:
            self.cohort_id = None
        return frees_place

    @property
    def waiting(self) -> bool:
        return self.status == ReferralStatus.AWAITING_ALLOCATION



@dataclass
class Cohort:
    cohort_id: str
    region_code: str
    programme_code: str
    office_code: str
    pdu_code: str
    slots: tuple[WeeklySlot, ...]
    start_date: date
    end_date: date
    group_weeks: int
    pathway: str = "MODERATE"
    sex: str = "MALE"
    offence_cohort: str = "GENERAL_OFFENCE"
    ldc: bool = False
    min_size: int = 6
    max_size: int = 12
    status: CohortStatus = CohortStatus.PROPOSED
    facilitator_ids: tuple[str, ...] = ()
    origin: str = "DELIVERY"  # DELIVERY (planned by the delivery team) | PLAN (opened by cohortplan)
    group_start: date | None = None  # first group session: facilitators carry the load from then
    updated_at: datetime | None = None
    field_times: dict[str, datetime] = field(default_factory=dict)  # "definition", "schedule", "staff"

    @property
    def live(self) -> bool:
        return self.status in (CohortStatus.CONFIRMED, CohortStatus.STARTED)

    def confirm(self, facilitator_ids: tuple[str, ...]) -> None:
        if self.status not in (CohortStatus.PROPOSED, CohortStatus.CONFIRMED):
            raise DomainError(f"cohort {self.cohort_id}: cannot confirm a {self.status} cohort")
        self.status, self.facilitator_ids = CohortStatus.CONFIRMED, tuple(facilitator_ids)

    def advance(self, today: date) -> bool:
        """Move a live cohort along its calendar; True when it changed."""
        before = self.status
        if self.status == CohortStatus.CONFIRMED and self.start_date <= today:
            self.status = CohortStatus.STARTED
        if self.status == CohortStatus.STARTED and self.end_date < today:
            self.status = CohortStatus.COMPLETED
        return self.status != before


@dataclass
class Facilitator:
    facilitator_id: str
    region_code: str
    home_pdu: str
    programmes: frozenset[str]
    offices: frozenset[str]
    weekly_hours: float
    availability: Availability = frozenset()
    absences: tuple[tuple[date, date], ...] = ()
    left_on: date | None = None
    updated_at: datetime | None = None


@dataclass
class Allocation:
    """A referral's place on a cohort in a plan version; pinned places are never moved by a plan."""

    referral_id: str
    cohort_id: str
    plan_version: int
    allocated_on: date
    reason: str
    source: str = "PLAN"  # PLAN | DELIVERY (membership reported by the delivery system)
    pinned: bool = False


@dataclass(frozen=True)
class Office:
    office_code: str
    pdu_code: str
    name_code: str = ""
    rooms: int = 0  # group rooms; 0 = cannot host groups
    rural: bool = False


@dataclass(frozen=True)
class Pdu:
    pdu_code: str
    demand_weight: float
    offices: tuple[Office, ...]


@dataclass(frozen=True)
class Region:
    region_code: str
    pdus: tuple[Pdu, ...]

    @property
    def offices(self) -> tuple[Office, ...]:
        return tuple(o for p in self.pdus for o in p.offices)

    @property
    def hubs(self) -> tuple[Office, ...]:
        return tuple(o for o in self.offices if o.rooms > 0)


@dataclass(frozen=True)
class PlanRecord:
    plan_version: int
    region_code: str
    allocator: str
    as_of: date
    assigned: int
    unallocated: int
    cohorts_opened: int
    objective: dict
    status: str
