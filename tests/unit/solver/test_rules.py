from __future__ import annotations

from datetime import date

import pytest

from solver.rules import (
    Ledger,
    compatible,
    conflicts_with_members,
    demands_conflict,
    facilitator_eligible,
    most_specific_reason,
    slot_weeks,
)
from solver.schema import Params, Period, Slot, UnallocatedReason
from tests.unit.solver.factories import AS_OF, make_cohort, make_demand, make_facilitator

PARAMS = Params(deadline_margin_days=14)
Reason = UnallocatedReason


def reason(demand, cohort):
    return compatible(demand, cohort, PARAMS, AS_OF)


def test_matching_cohort_is_compatible():
    assert reason(make_demand(), make_cohort()) is None


@pytest.mark.parametrize("field, value", [
    ("programme_code", "HSP"), ("pathway", "HIGH"), ("offence_cohort", "SEXUAL_OFFENCE"), ("ldc", True),
])
def test_cohort_of_another_programme_variant_is_not_compatible(field, value):
    assert reason(make_demand(), make_cohort(**{field: value})) == Reason.NO_COMPATIBLE_COHORT


@pytest.mark.parametrize("cohort_sex, allowed", [("FEMALE", True), ("MIXED", True), ("MALE", False)])
def test_woman_fits_only_female_or_mixed_groups(cohort_sex, allowed):
    assert (reason(make_demand(sex="FEMALE"), make_cohort(sex=cohort_sex)) is None) is allowed


@pytest.mark.parametrize("cohort_sex, allowed", [("MALE", True), ("MIXED", True), ("FEMALE", False)])
def test_man_fits_only_male_or_mixed_groups(cohort_sex, allowed):
    assert (reason(make_demand(sex="MALE"), make_cohort(sex=cohort_sex)) is None) is allowed


def test_unreachable_office_is_not_available():
    demand = make_demand(reachable_offices=frozenset({"OFF2"}))
    assert reason(demand, make_cohort(office_code="OFF1")) == Reason.NOT_AVAILABLE


def test_empty_reachable_offices_means_any_office():
    assert reason(make_demand(reachable_offices=frozenset()), make_cohort(office_code="ANY")) is None


def test_excluded_office_is_not_available_even_when_reachable():
    demand = make_demand(reachable_offices=frozenset({"OFF1"}), excluded_offices=frozenset({"OFF1"}))
    assert reason(demand, make_cohort(office_code="OFF1")) == Reason.NOT_AVAILABLE


def test_availability_must_cover_every_slot_of_the_cohort():
    demand = make_demand(availability=frozenset({(1, Period.DAYTIME)}))
    cohort = make_cohort(slots=(Slot(1, "10:00"), Slot(3, "18:00", Period.EVENING)))
    assert reason(demand, cohort) == Reason.NOT_AVAILABLE


def test_availability_covering_every_slot_is_compatible():
    demand = make_demand(availability=frozenset({(1, Period.DAYTIME), (3, Period.EVENING)}))
    cohort = make_cohort(slots=(Slot(1, "10:00"), Slot(3, "18:00", Period.EVENING)))
    assert reason(demand, cohort) is None


def test_empty_availability_means_any_time():
    cohort = make_cohort(slots=(Slot(5, "18:00", Period.EVENING),))
    assert reason(make_demand(availability=frozenset()), cohort) is None


def test_cohort_starting_before_ready_from_is_not_ready():
    demand = make_demand(ready_from=date(2025, 3, 1))
    assert reason(demand, make_cohort(start_date=date(2025, 2, 4))) == Reason.NOT_READY


def test_cohort_that_already_started_takes_nobody_new():
    cohort = make_cohort(start_date=AS_OF.replace(day=AS_OF.day - 1))
    assert reason(make_demand(), cohort) == Reason.NO_COMPATIBLE_COHORT


def test_cohort_starting_on_the_planning_day_can_still_be_joined():
    assert reason(make_demand(), make_cohort(start_date=AS_OF)) is None


def test_cohort_ending_after_deadline_less_margin_misses_the_deadline():
    demand = make_demand(deadline=date(2025, 5, 15))
    assert reason(demand, make_cohort(end_date=date(2025, 5, 2))) == Reason.NO_COHORT_BEFORE_DEADLINE


def test_cohort_ending_exactly_at_deadline_less_margin_is_in_time():
    demand = make_demand(deadline=date(2025, 5, 15))
    assert reason(demand, make_cohort(end_date=date(2025, 5, 1))) is None


def test_most_specific_reason_prefers_deadline_over_availability_over_mismatch():
    demand = make_demand(deadline=date(2025, 5, 1), reachable_offices=frozenset({"OFF1"}))
    cohorts = [
        make_cohort(cohort_id="MISMATCH", programme_code="HSP"),
        make_cohort(cohort_id="FAR", office_code="OFF9"),
        make_cohort(cohort_id="LATE", end_date=date(2025, 6, 1)),
    ]
    assert most_specific_reason(demand, cohorts, PARAMS, AS_OF) == Reason.NO_COHORT_BEFORE_DEADLINE
    assert most_specific_reason(demand, cohorts[:2], PARAMS, AS_OF) == Reason.NOT_AVAILABLE


def test_most_specific_reason_is_none_when_some_cohort_fits():
    cohorts = [make_cohort(cohort_id="X", programme_code="HSP"), make_cohort(cohort_id="OK")]
    assert most_specific_reason(make_demand(), cohorts, PARAMS, AS_OF) is None


def test_most_specific_reason_without_cohorts_is_no_compatible_cohort():
    assert most_specific_reason(make_demand(), [], PARAMS, AS_OF) == Reason.NO_COMPATIBLE_COHORT


def test_non_association_protects_both_people_whoever_declared_it():
    a = make_demand(crn="A", non_associations=frozenset({"B"}))
    b = make_demand(crn="B")
    assert demands_conflict(a, b) and demands_conflict(b, a)


def test_people_without_non_associations_do_not_conflict():
    assert not demands_conflict(make_demand(crn="A"), make_demand(crn="B"))


def test_member_named_as_non_association_conflicts():
    demand = make_demand(non_associations=frozenset({"M1"}))
    assert conflicts_with_members(demand, make_cohort(members=("R9",), member_crns=("M1",)))


def test_trained_reachable_available_present_facilitator_is_eligible():
    assert facilitator_eligible(make_facilitator(), make_cohort())


@pytest.mark.parametrize("overrides", [
    dict(programmes=frozenset({"HSP"})),
    dict(offices=frozenset({"OFF2"})),
    dict(availability=frozenset({(1, Period.EVENING)})),
    dict(absences=((date(2025, 4, 1), date(2025, 4, 10)),)),
    dict(active_until=date(2025, 5, 1)),
], ids=["untrained", "unreachable", "unavailable", "absent", "leaves-before-end"])
def test_facilitator_who_cannot_cover_the_whole_cohort_is_not_eligible(overrides):
    assert not facilitator_eligible(make_facilitator(**overrides), make_cohort(end_date=date(2025, 5, 6)))


def test_facilitator_leaving_on_the_last_day_is_eligible():
    cohort = make_cohort(end_date=date(2025, 5, 6))
    assert facilitator_eligible(make_facilitator(active_until=date(2025, 5, 6)), cohort)


def test_slot_weeks_cover_each_slot_in_each_group_week_once():
    cohort = make_cohort(slots=(Slot(1, "10:00"), Slot(1, "10:00", Period.DAYTIME), Slot(3, "10:00")),
                         start_date=date(2025, 2, 4), group_weeks=2)
    assert slot_weeks(cohort) == [
        (1, "10:00", date(2025, 2, 3)), (3, "10:00", date(2025, 2, 3)),
        (1, "10:00", date(2025, 2, 10)), (3, "10:00", date(2025, 2, 10)),
    ]


def test_ledger_allows_weekly_hours_up_to_the_limit():
    ledger = Ledger()
    ledger.add(make_cohort(cohort_id="A", slots=(Slot(1, "10:00"),)), ["F1"])
    second = make_cohort(cohort_id="B", slots=(Slot(2, "10:00"),))
    assert ledger.facilitator_fits(make_facilitator(weekly_hours=14.0), second)


def test_ledger_refuses_weekly_hours_over_the_limit():
    ledger = Ledger()
    ledger.add(make_cohort(cohort_id="A", slots=(Slot(1, "10:00"),)), ["F1"])
    second = make_cohort(cohort_id="B", slots=(Slot(2, "10:00"),))
    assert not ledger.facilitator_fits(make_facilitator(weekly_hours=10.0), second)


def test_ledger_refuses_a_facilitator_on_the_same_slot_in_an_overlapping_week():
    ledger = Ledger()
    ledger.add(make_cohort(cohort_id="A", group_weeks=4), ["F1"])
    later = make_cohort(cohort_id="B", start_date=date(2025, 2, 18), end_date=date(2025, 5, 20))
    assert not ledger.facilitator_fits(make_facilitator(weekly_hours=99.0), later)


def test_ledger_allows_the_same_slot_once_the_weeks_no_longer_overlap():
    ledger = Ledger()
    ledger.add(make_cohort(cohort_id="A", group_weeks=2), ["F1"])
    later = make_cohort(cohort_id="B", start_date=date(2025, 2, 18), end_date=date(2025, 5, 20))
    assert ledger.facilitator_fits(make_facilitator(weekly_hours=99.0), later)


def test_ledger_room_is_taken_by_a_concurrent_cohort_at_the_same_office_and_slot():
    ledger = Ledger()
    ledger.add(make_cohort(cohort_id="A"), [])
    assert not ledger.room_free(make_cohort(cohort_id="B"), rooms=1)
    assert ledger.room_free(make_cohort(cohort_id="B"), rooms=2)


def test_ledger_room_at_another_office_is_free():
    ledger = Ledger()
    ledger.add(make_cohort(cohort_id="A", office_code="OFF1"), [])
    assert ledger.room_free(make_cohort(cohort_id="B", office_code="OFF2"), rooms=1)
