"""Fully populated aggregates, alerts, plans and parked events for the persistence tests: every field set to
a value that is not its default, so a store that drops or retypes a field is caught."""
from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timedelta, timezone

from engine.domain.calendar import Period, WeeklySlot
from engine.domain.model import (Allocation, Cohort, CohortStatus, Facilitator, LifeStatus, Person, PlanRecord,
                                 Referral, Requirement, Sentence, SentenceType)
from engine.domain.statuses import ReferralStatus as S
from engine.ports import ParkedEvent

T0 = datetime(2025, 3, 3, 9, 30, 15, 123456, tzinfo=timezone.utc)
BST = timezone(timedelta(hours=1), "BST")


def a_person(crn: str = "X000001", **overrides) -> Person:
    values = dict(region_code="NE", pdu_code="PDU_A", sex="FEMALE", date_of_birth=date(1990, 1, 2),
                  ethnicity_group="W1", ldc=True,
                  availability=frozenset({(0, "DAYTIME"), (2, "EVENING"), (4, "DAYTIME")}),
                  preferred_offices=frozenset({"OFF_B", "OFF_A"}), cannot_attend_offices=frozenset({"OFF_Z"}),
                  interpreter_needed=True, non_associations=frozenset({"X000009", "X000008"}),
                  merged_into=None, updated_at=T0)
    return Person(crn, **{**values, **overrides})


def a_sentence(sentence_id: str = "S1", crn: str = "X000001", **overrides) -> Sentence:
    values = dict(sentence_type=SentenceType.SUSPENDED_SENTENCE_ORDER, start_date=date(2025, 1, 6),
                  expected_end_date=date(2027, 1, 5), status=LifeStatus.ACTIVE, updated_at=T0)
    return Sentence(sentence_id, crn, **{**values, **overrides})


def a_requirement(requirement_id: str = "Q1", crn: str = "X000001", **overrides) -> Requirement:
    values = dict(sentence_id="S1", programme_code="BB", kind="LICENCE_CONDITION", end_date=date(2026, 6, 30),
                  status=LifeStatus.BREACHED, updated_at=T0)
    return Requirement(requirement_id, crn, **{**values, **overrides})


def a_referral(referral_id: str = "R1", crn: str = "X000001", requirement_id: str = "Q1",
               source: str = "NDELIUS", moves: tuple[S, ...] = (), **overrides) -> Referral:
    values = dict(programme_code="BB", referred_on=date(2025, 2, 1), pathway="HIGH_INTENSITY",
                  offence_cohort="SEXUAL_OFFENCE", ldc=True, risk_band="HIGH", need_band="LOW",
                  ready_from=date(2025, 4, 1), updated_at=T0)
    referral = Referral(referral_id, crn, requirement_id, source=source, **{**values, **overrides})
    for n, status in enumerate(moves):
        referral.move_to(status, T0 + timedelta(hours=n), f"move {n}", f"event-{n}",
                         by_allocation=status == S.SCHEDULED)
    return referral


def a_cohort(cohort_id: str = "C1", **overrides) -> Cohort:
    values = dict(region_code="NE", programme_code="BB", office_code="OFF_A", pdu_code="PDU_A",
                  slots=(WeeklySlot(3, "18:00", Period.EVENING), WeeklySlot(0, "09:30")),
                  start_date=date(2025, 5, 5), end_date=date(2025, 9, 1), group_weeks=17,
                  pathway="HIGH_INTENSITY", sex="FEMALE", offence_cohort="SEXUAL_OFFENCE", ldc=True,
                  min_size=4, max_size=8, status=CohortStatus.CONFIRMED, facilitator_ids=("F2", "F1"),
                  origin="PLAN", updated_at=T0)
    return Cohort(cohort_id, **{**values, **overrides})


def a_facilitator(facilitator_id: str = "F1", **overrides) -> Facilitator:
    values = dict(region_code="NE", home_pdu="PDU_A", programmes=frozenset({"BB", "HSP"}),
                  offices=frozenset({"OFF_A", "OFF_B"}), weekly_hours=22.5,
                  availability=frozenset({(1, "EVENING"), (3, "DAYTIME")}),
                  absences=((date(2025, 8, 4), date(2025, 8, 15)), (date(2025, 12, 22), date(2026, 1, 2))),
                  left_on=date(2026, 3, 31), updated_at=T0)
    return Facilitator(facilitator_id, **{**values, **overrides})


def an_allocation(referral_id: str = "R1", cohort_id: str = "C1", **overrides) -> Allocation:
    values = dict(plan_version=3, allocated_on=date(2025, 4, 2), reason="best fit", source="DELIVERY",
                  pinned=True)
    return Allocation(referral_id, cohort_id, **{**values, **overrides})


def an_alert(alert_id: str = "AT_RISK:referral:R1", **overrides) -> dict:
    values = dict(alert_id=alert_id, kind="AT_RISK", region_code="NE", subject_type="referral",
                  subject_id="R1", severity="WARNING", raised_at=T0, act_by=date(2025, 7, 1),
                  reason="no place finishing before the deadline", pdu_code="NE-P01",
                  numbers={"deadline": "2025-07-15", "members": 3}, message_key="X000001", updated_at=T0,
                  workflow_state=None, assigned_to=None, snoozed_until=None)
    return {**values, **overrides}


def a_plan(version: int, **overrides) -> PlanRecord:
    values = dict(region_code="NE", allocator="greedy", as_of=date(2025, 3, 3), assigned=10, unallocated=2,
                  cohorts_opened=1, objective={"score": 12.5, "terms": {"wait": 3, "travel": [1, 2]}},
                  status="APPLIED")
    return PlanRecord(version, **{**values, **overrides})


# aggregate name -> (repository attribute, factory, key attribute)
AGGREGATES = {
    "person": ("people", lambda: a_person(), "crn"),
    "sentence": ("sentences", lambda: a_sentence(), "sentence_id"),
    "requirement": ("requirements", lambda: a_requirement(), "requirement_id"),
    "referral": ("referrals", lambda: a_referral(moves=(S.AWAITING_ALLOCATION, S.SCHEDULED), cohort_id="C1"),
                 "referral_id"),
    "cohort": ("cohorts", lambda: a_cohort(), "cohort_id"),
    "facilitator": ("facilitators", lambda: a_facilitator(), "facilitator_id"),
    "allocation": ("allocations", lambda: an_allocation(), "referral_id"),
}


def a_parked_event(event_id: str = "e1", waiting_for: str = "requirement:Q1", **overrides) -> ParkedEvent:
    values = dict(occurred_at=datetime(2025, 6, 1, 12, 0, tzinfo=BST), raw='{"event_id": "e1"}',
                  event_type="referral.created", digest="ab" * 32, origin="programmes.referrals.v1",
                  line_number=None, partition=3, offset=2**40 + 7, parked_at=datetime(2025, 6, 2, 9, 0, tzinfo=BST),
                  seen_at=T0)
    return ParkedEvent(event_id, waiting_for, **{**values, **overrides})


def assert_same_value_and_type(actual, expected) -> None:
    """Dataclass equality plus the Python type of every field (a str is == to a StrEnum, a list is not a tuple)."""
    assert actual == expected
    for f in fields(expected):
        a, e = getattr(actual, f.name), getattr(expected, f.name)
        assert type(a) is type(e), f"{f.name}: {type(a).__name__} != {type(e).__name__}"
