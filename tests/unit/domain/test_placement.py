"""The rules a held place must keep (``place_breaches``) and who may undo a place that breaks one
(``remedy``): pure, plain entities in, the broken rules out."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from engine.domain.calendar import WeeklySlot
from engine.domain.model import Allocation, Cohort, CohortStatus, Person, Referral
from engine.domain.placement import (
    ACTION,
    Breach,
    Member,
    Remedy,
    Rule,
    place_breaches,
    remedy,
    sex_allowed,
)
from engine.domain.statuses import ReferralStatus

CRN = "X123456"
OTHER = "X654321"
START = date(2025, 3, 24)
END = START + timedelta(weeks=20)  # 2025-08-11
MONDAY_DAY = WeeklySlot(0, "10:00", "DAYTIME")
THURSDAY_EVENING = WeeklySlot(3, "18:00", "EVENING")


def referral(**overrides: Any) -> Referral:
    values: dict[str, Any] = dict(
        referral_id="REF-1", crn=CRN, requirement_id="RQ-1", programme_code="BC-M", source="DELIUS",
        referred_on=date(2025, 1, 9), status=ReferralStatus.SCHEDULED, pathway="MODERATE",
        offence_cohort="GENERAL_OFFENCE", ldc=False, cohort_id="C1")
    values.update(overrides)
    return Referral(**values)


def person(**overrides: Any) -> Person:
    values: dict[str, Any] = dict(crn=CRN, region_code="RS", pdu_code="RS-P01", sex="MALE")
    values.update(overrides)
    return Person(**values)


def cohort(**overrides: Any) -> Cohort:
    values: dict[str, Any] = dict(
        cohort_id="C1", region_code="RS", programme_code="BC-M", office_code="RS-P01-O1", pdu_code="RS-P01",
        slots=(MONDAY_DAY,), start_date=START, end_date=END, group_weeks=20, pathway="MODERATE", sex="MALE",
        offence_cohort="GENERAL_OFFENCE", ldc=False, status=CohortStatus.CONFIRMED)
    values.update(overrides)
    return Cohort(**values)


def allocation(**overrides: Any) -> Allocation:
    values: dict[str, Any] = dict(referral_id="REF-1", cohort_id="C1", plan_version=3,
                                  allocated_on=date(2025, 2, 10), reason="planned", source="PLAN")
    values.update(overrides)
    return Allocation(**values)


def member(crn: str = OTHER, names: frozenset[str] = frozenset(), referral_id: str = "REF-2") -> Member:
    return Member(referral_id, crn, frozenset(names))


def breaches(r: Referral | None = None, p: Person | None = None, c: Cohort | None = None,
             latest_end: date | None = None, others=()) -> list[Breach]:
    return place_breaches(r or referral(), p or person(), c or cohort(), latest_end, others)


def only(found: list[Breach]) -> Breach:
    assert len(found) == 1, found
    return found[0]


# --- a sound place ------------------------------------------------------------------------------


def test_a_sound_place_breaks_nothing():
    others = [member(), member("X000003", referral_id="REF-3")]
    assert breaches(latest_end=END, others=others) == []
    assert place_breaches(referral(), None, cohort(), None) == []


def test_a_breach_names_the_place():
    found = only(breaches(r=referral(programme_code="HSP")))
    assert (found.rule, found.referral_id, found.crn, found.cohort_id) == (Rule.PROGRAMME, "REF-1", CRN, "C1")
    assert found.detail == "referral is for HSP, cohort runs BC-M"


def test_every_rule_has_an_action_for_the_treatment_manager():
    assert set(ACTION) == set(Rule)
    assert all(ACTION[rule] for rule in Rule)


# --- the referral's own rules -------------------------------------------------------------------


def test_programme_allows_the_same_programme_and_forbids_another():
    assert breaches(r=referral(programme_code="HSP"), c=cohort(programme_code="HSP")) == []
    found = only(breaches(c=cohort(programme_code="HSP")))
    assert found.rule is Rule.PROGRAMME and found.detail == "referral is for BC-M, cohort runs HSP"


def test_pathway_allows_the_same_pathway_and_forbids_another():
    assert breaches(r=referral(pathway="HIGH_INTENSITY"), c=cohort(pathway="HIGH_INTENSITY")) == []
    found = only(breaches(r=referral(pathway="HIGH_INTENSITY")))
    assert found.rule is Rule.PATHWAY and found.detail == "pathway HIGH_INTENSITY, cohort MODERATE"


def test_offence_cohort_allows_the_same_and_forbids_another():
    assert breaches(r=referral(offence_cohort="SEXUAL_OFFENCE"), c=cohort(offence_cohort="SEXUAL_OFFENCE")) == []
    found = only(breaches(r=referral(offence_cohort="SEXUAL_OFFENCE")))
    assert found.rule is Rule.OFFENCE_COHORT
    assert found.detail == "offence cohort SEXUAL_OFFENCE, cohort GENERAL_OFFENCE"


def test_ldc_allows_the_matching_variant_and_forbids_either_mismatch():
    assert breaches(r=referral(ldc=True), c=cohort(ldc=True)) == []
    needs_ldc = only(breaches(r=referral(ldc=True)))
    assert needs_ldc.rule is Rule.LDC and needs_ldc.detail == "LDC yes, cohort is not the LDC variant"
    in_ldc_group = only(breaches(c=cohort(ldc=True)))
    assert in_ldc_group.rule is Rule.LDC and in_ldc_group.detail == "LDC no, cohort is the LDC variant"


def test_deadline_allows_an_end_on_the_latest_end_and_forbids_a_day_later():
    assert breaches(latest_end=END) == []
    assert breaches(latest_end=None) == []  # no deadline known
    found = only(breaches(latest_end=END - timedelta(days=1)))
    assert found.rule is Rule.DEADLINE
    assert found.detail == "cohort ends 2025-08-11, after the latest end 2025-08-10"


def test_the_deadline_is_checked_without_a_person_but_person_rules_are_not():
    unknown = place_breaches(referral(), None, cohort(sex="FEMALE", region_code="XX"), END - timedelta(days=1))
    assert [b.rule for b in unknown] == [Rule.DEADLINE]


# --- the person's rules -------------------------------------------------------------------------


@pytest.mark.parametrize("person_sex, cohort_sex", [
    ("MALE", "MALE"), ("MALE", "MIXED"), ("FEMALE", "FEMALE"), ("FEMALE", "MIXED"), ("OTHER", "MIXED"),
])
def test_sex_allows(person_sex, cohort_sex):
    assert sex_allowed(person_sex, cohort_sex)
    assert breaches(p=person(sex=person_sex), c=cohort(sex=cohort_sex)) == []


@pytest.mark.parametrize("person_sex, cohort_sex", [
    ("FEMALE", "MALE"), ("MALE", "FEMALE"), ("OTHER", "MALE"), ("OTHER", "FEMALE"), ("", "MALE"),
])
def test_sex_forbids(person_sex, cohort_sex):
    assert not sex_allowed(person_sex, cohort_sex)
    found = only(breaches(p=person(sex=person_sex), c=cohort(sex=cohort_sex)))
    assert found.rule is Rule.SEX and found.detail == f"person recorded as {person_sex}, cohort is {cohort_sex}"


def test_non_association_allows_members_neither_names():
    mine = person(non_associations=frozenset({"X999999"}))
    assert breaches(p=mine, others=[member(names=frozenset({"X888888"}))]) == []


def test_non_association_forbids_a_member_this_person_names():
    mine = person(non_associations=frozenset({OTHER}))
    found = only(breaches(p=mine, others=[member()]))
    assert found.rule is Rule.NON_ASSOCIATION
    assert found.detail == f"non-associated with {OTHER} (referral REF-2)"


def test_non_association_forbids_a_member_who_names_this_person():
    found = only(breaches(others=[member(names=frozenset({CRN}))]))  # this person names no one
    assert found.rule is Rule.NON_ASSOCIATION
    assert found.detail == f"non-associated with {OTHER} (referral REF-2)"


def test_non_association_names_each_member_and_ignores_another_place_of_the_same_person():
    others = [member("X000002", frozenset({CRN}), "REF-2"), member("X000003", referral_id="REF-3"),
              member(CRN, frozenset({CRN}), "REF-9")]
    found = breaches(p=person(non_associations=frozenset({"X000003", CRN})), others=others)
    assert [(b.rule, b.detail) for b in found] == [
        (Rule.NON_ASSOCIATION, "non-associated with X000002 (referral REF-2)"),
        (Rule.NON_ASSOCIATION, "non-associated with X000003 (referral REF-3)"),
    ]


def test_availability_allows_every_slot_covered_and_empty_availability_means_any_time():
    both = cohort(slots=(MONDAY_DAY, THURSDAY_EVENING))
    assert breaches(p=person(availability=frozenset({(0, "DAYTIME"), (3, "EVENING")})), c=both) == []
    assert breaches(p=person(availability=frozenset()), c=both) == []


def test_availability_forbids_a_slot_the_person_cannot_attend():
    both = cohort(slots=(MONDAY_DAY, THURSDAY_EVENING))
    found = only(breaches(p=person(availability=frozenset({(0, "DAYTIME"), (3, "DAYTIME")})), c=both))
    assert found.rule is Rule.AVAILABILITY and found.detail == "not available for weekday 3 evening"
    none = only(breaches(p=person(availability=frozenset({(4, "EVENING")})), c=both))
    assert none.detail == "not available for weekday 0 daytime, weekday 3 evening"


def test_office_allows_other_offices_and_forbids_one_the_person_cannot_attend():
    assert breaches(p=person(cannot_attend_offices=frozenset({"RS-P01-O2"}))) == []
    found = only(breaches(p=person(cannot_attend_offices=frozenset({"RS-P01-O1", "RS-P01-O2"}))))
    assert found.rule is Rule.OFFICE and found.detail == "cannot attend office RS-P01-O1"


def test_region_allows_the_same_or_an_unknown_region_and_forbids_another():
    assert breaches(p=person(region_code="RS")) == []
    assert breaches(p=person(region_code="")) == []
    assert breaches(c=cohort(region_code="")) == []
    found = only(breaches(p=person(region_code="RN")))
    assert found.rule is Rule.REGION and found.detail == "person now in region RN, cohort in RS"


def test_every_broken_rule_is_reported_in_rule_order():
    found = breaches(
        r=referral(programme_code="HSP", pathway="HIGH_INTENSITY", offence_cohort="SEXUAL_OFFENCE", ldc=True),
        p=person(sex="FEMALE", non_associations=frozenset({OTHER}), availability=frozenset({(1, "DAYTIME")}),
                 cannot_attend_offices=frozenset({"RS-P01-O1"}), region_code="RN"),
        latest_end=START, others=[member()])
    assert [b.rule for b in found] == [Rule.PROGRAMME, Rule.PATHWAY, Rule.OFFENCE_COHORT, Rule.LDC, Rule.DEADLINE,
                                       Rule.SEX, Rule.NON_ASSOCIATION, Rule.AVAILABILITY, Rule.OFFICE, Rule.REGION]
    assert {(b.referral_id, b.crn, b.cohort_id) for b in found} == {("REF-1", CRN, "C1")}


# --- remedy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [CohortStatus.PROPOSED, CohortStatus.CONFIRMED])
def test_remedy_removes_the_plans_own_place_not_started(status):
    assert remedy(referral(), cohort(status=status), allocation()) is Remedy.REMOVE


def test_remedy_removes_a_place_with_no_allocation_recorded_when_not_started():
    assert remedy(referral(), cohort(), None) is Remedy.REMOVE


def test_remedy_removes_a_pinned_plan_place_too():
    """The freeze window pins the plan's places; a safety rule still beats plan stability."""
    assert remedy(referral(), cohort(), allocation(pinned=True)) is Remedy.REMOVE


def test_remedy_flags_a_place_the_delivery_team_made():
    assert remedy(referral(), cohort(), allocation(source="DELIVERY", pinned=True)) is Remedy.FLAG
    assert remedy(referral(), cohort(status=CohortStatus.PROPOSED), allocation(source="DELIVERY")) is Remedy.FLAG


def test_remedy_flags_a_person_on_programme():
    assert remedy(referral(status=ReferralStatus.ON_PROGRAMME), cohort(), allocation()) is Remedy.FLAG


@pytest.mark.parametrize("status", [CohortStatus.STARTED, CohortStatus.COMPLETED])
def test_remedy_flags_a_running_cohort(status):
    assert remedy(referral(), cohort(status=status), allocation()) is Remedy.FLAG
    assert remedy(referral(), cohort(status=status), None) is Remedy.FLAG
