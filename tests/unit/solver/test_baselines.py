from __future__ import annotations

from datetime import date

import pytest

from solver.baselines import CurrentPracticeAllocator, FifoAllocator
from solver.check import check_plan
from solver.schema import CohortState, OpenedCohort, Period, Slot, UnallocatedReason
from tests.unit.solver.factories import (
    make_cohort,
    make_demand,
    make_facilitator,
    make_office,
    make_problem,
    people,
    two_facilitators,
)

Reason = UnallocatedReason
ALLOCATORS = [FifoAllocator(), CurrentPracticeAllocator()]


def candidate(**overrides):
    return make_cohort(**{**dict(state=CohortState.CANDIDATE, min_size=4, max_size=8), **overrides})


def reasons(plan):
    return {u.referral_id: u.reason for u in plan.unallocated}


def last_place_contest():
    """One free place; an early low-risk referral and a later high-risk one both want it."""
    early_low = make_demand(referral_id="EARLY", crn="A", risk_band="LOW", referred_on=date(2024, 9, 1))
    late_high = make_demand(referral_id="LATE", crn="B", risk_band="HIGH", referred_on=date(2024, 12, 1))
    cohort = make_cohort(max_size=3, members=("M1", "M2"), member_crns=("Y1", "Y2"))
    return make_problem([early_low, late_high], [cohort])


def test_current_practice_gives_the_last_place_to_the_high_risk_person():
    plan = CurrentPracticeAllocator().allocate(last_place_contest())
    assert plan.cohort_of("LATE") == "C1" and plan.cohort_of("EARLY") is None


def test_fifo_gives_the_last_place_to_the_earliest_referral():
    plan = FifoAllocator().allocate(last_place_contest())
    assert plan.cohort_of("EARLY") == "C1" and plan.cohort_of("LATE") is None


def test_current_practice_orders_equal_risk_by_earlier_deadline():
    soon = make_demand(referral_id="SOON", crn="A", deadline=date(2025, 9, 1), referred_on=date(2024, 12, 1))
    later = make_demand(referral_id="LATER", crn="B", deadline=date(2026, 9, 1), referred_on=date(2024, 9, 1))
    cohort = make_cohort(max_size=1)
    plan = CurrentPracticeAllocator().allocate(make_problem([later, soon], [cohort]))
    assert plan.cohort_of("SOON") == "C1"


@pytest.mark.parametrize("allocator", ALLOCATORS, ids=lambda a: a.name)
def test_woman_is_never_placed_in_a_male_group(allocator):
    problem = make_problem([make_demand(sex="FEMALE")], [make_cohort(sex="MALE")])
    plan = allocator.allocate(problem)
    assert plan.assignments == () and reasons(plan) == {"R1": Reason.NO_COMPATIBLE_COHORT}


@pytest.mark.parametrize("allocator", ALLOCATORS, ids=lambda a: a.name)
def test_earliest_starting_open_cohort_with_a_place_is_chosen(allocator):
    late = make_cohort(cohort_id="LATE", start_date=date(2025, 3, 4), end_date=date(2025, 6, 3))
    early = make_cohort(cohort_id="EARLY", start_date=date(2025, 2, 4))
    plan = allocator.allocate(make_problem([make_demand()], [late, early]))
    assert plan.cohort_of("R1") == "EARLY"


def test_full_open_cohort_sends_people_to_the_next_one():
    full = make_cohort(cohort_id="FULL", max_size=1, members=("M1",), member_crns=("Y1",))
    later = make_cohort(cohort_id="NEXT", start_date=date(2025, 3, 4), end_date=date(2025, 6, 3))
    plan = FifoAllocator().allocate(make_problem([make_demand()], [full, later]))
    assert plan.cohort_of("R1") == "NEXT"


def test_people_left_when_every_compatible_cohort_is_full_have_no_place():
    plan = FifoAllocator().allocate(make_problem(people(2), [make_cohort(max_size=1)]))
    assert reasons(plan) == {"R02": Reason.NO_PLACE}


def test_candidate_opens_with_enough_people_and_two_trained_facilitators():
    problem = make_problem(people(4), [candidate()], two_facilitators())
    plan = FifoAllocator().allocate(problem)
    assert plan.opened == (OpenedCohort("C1", ("F1", "F2")),)
    assert {a.cohort_id for a in plan.assignments} == {"C1"} and len(plan.assignments) == 4


def test_candidate_stays_closed_with_too_few_waiting():
    plan = FifoAllocator().allocate(make_problem(people(3), [candidate()], two_facilitators()))
    assert plan.opened == () and set(reasons(plan).values()) == {Reason.TOO_FEW_WAITING}


def test_open_threshold_above_one_asks_for_more_people_waiting():
    problem = make_problem(people(5), [candidate()], two_facilitators(), open_threshold=1.5)
    assert FifoAllocator().allocate(problem).opened == ()


def test_candidate_stays_closed_with_only_one_trained_facilitator():
    staff = [make_facilitator(facilitator_id="F1"),
             make_facilitator(facilitator_id="F2", programmes=frozenset({"HSP"}))]
    plan = FifoAllocator().allocate(make_problem(people(4), [candidate()], staff))
    assert plan.opened == () and set(reasons(plan).values()) == {Reason.NO_FACILITATOR}


def test_candidate_stays_closed_when_the_office_has_no_free_room():
    busy = make_cohort(cohort_id="BUSY", programme_code="HSP")
    plan = FifoAllocator().allocate(make_problem(people(4), [busy, candidate()], two_facilitators()))
    assert plan.opened == () and set(reasons(plan).values()) == {Reason.NO_PLACE}


def test_a_second_room_lets_the_candidate_open_beside_a_running_cohort():
    busy = make_cohort(cohort_id="BUSY", programme_code="HSP")
    problem = make_problem(people(4), [busy, candidate()], two_facilitators(), [make_office(rooms=2)])
    assert [o.cohort_id for o in FifoAllocator().allocate(problem).opened] == ["C1"]


def test_opened_candidate_is_filled_up_to_its_max_size_in_baseline_order():
    plan = FifoAllocator().allocate(make_problem(people(10), [candidate(max_size=8)], two_facilitators()))
    assert sorted(a.referral_id for a in plan.assignments) == [f"R{i:02d}" for i in range(1, 9)]
    assert reasons(plan) == {"R09": Reason.NO_PLACE, "R10": Reason.NO_PLACE}


def test_facilitator_hours_block_a_second_cohort():
    first = candidate(cohort_id="FIRST", slots=(Slot(1, "10:00"),))
    second = candidate(cohort_id="SECOND", slots=(Slot(3, "10:00"),), programme_code="HSP")
    staff = two_facilitators(weekly_hours=10.0, programmes=frozenset({"BC", "HSP"}))
    hsp = [make_demand(referral_id=f"H{i}", crn=f"H{i}", programme_code="HSP") for i in range(4)]
    waiting = people(4) + hsp
    plan = FifoAllocator().allocate(make_problem(waiting, [first, second], staff, [make_office(rooms=2)]))
    assert [o.cohort_id for o in plan.opened] == ["FIRST"]
    assert {reasons(plan)[f"H{i}"] for i in range(4)} == {Reason.NO_FACILITATOR}


def test_facilitators_of_a_running_cohort_are_not_double_booked_on_a_candidate():
    running = make_cohort(cohort_id="RUN", programme_code="HSP", facilitator_ids=("F1", "F2"))
    staff = two_facilitators(weekly_hours=99.0)
    problem = make_problem(people(4), [running, candidate()], staff, [make_office(rooms=2)])
    assert FifoAllocator().allocate(problem).opened == ()


@pytest.mark.parametrize("allocator", ALLOCATORS, ids=lambda a: a.name)
def test_nobody_is_placed_in_a_cohort_ending_after_deadline_less_margin(allocator):
    demand = make_demand(deadline=date(2025, 5, 15))  # latest end 2025-05-01
    plan = allocator.allocate(make_problem([demand], [make_cohort(end_date=date(2025, 5, 6))]))
    assert plan.assignments == () and reasons(plan) == {"R1": Reason.NO_COHORT_BEFORE_DEADLINE}


@pytest.mark.parametrize("allocator", ALLOCATORS, ids=lambda a: a.name)
def test_an_existing_compatible_current_cohort_is_kept(allocator):
    early = make_cohort(cohort_id="EARLY", start_date=date(2025, 2, 4))
    current = make_cohort(cohort_id="CURRENT", start_date=date(2025, 3, 4), end_date=date(2025, 6, 3))
    plan = allocator.allocate(make_problem([make_demand(current_cohort_id="CURRENT")], [early, current]))
    assert plan.cohort_of("R1") == "CURRENT" and plan.objective["kept_current"] == 1


def test_current_holder_keeps_the_last_place_against_higher_priority():
    holder = make_demand(referral_id="HOLDER", crn="A", risk_band="LOW", current_cohort_id="C1")
    urgent = make_demand(referral_id="URGENT", crn="B", risk_band="HIGH")
    plan = CurrentPracticeAllocator().allocate(make_problem([holder, urgent], [make_cohort(max_size=1)]))
    assert plan.cohort_of("HOLDER") == "C1"


def test_current_cohort_no_longer_compatible_is_left_for_one_that_is():
    demand = make_demand(current_cohort_id="OLD", availability=frozenset({(3, Period.DAYTIME)}))
    old = make_cohort(cohort_id="OLD", slots=(Slot(1, "10:00"),))
    new = make_cohort(cohort_id="NEW", slots=(Slot(3, "10:00"),), start_date=date(2025, 2, 6))
    assert FifoAllocator().allocate(make_problem([demand], [old, new])).cohort_of("R1") == "NEW"


def test_non_associated_people_are_not_placed_together():
    a = make_demand(referral_id="A", crn="CA", non_associations=frozenset({"CB"}))
    b = make_demand(referral_id="B", crn="CB", referred_on=date(2024, 11, 1))
    plan = FifoAllocator().allocate(make_problem([a, b], [make_cohort()]))
    assert plan.cohort_of("A") == "C1" and plan.cohort_of("B") is None


def test_non_associated_member_keeps_a_person_out():
    demand = make_demand(non_associations=frozenset({"Y1"}))
    cohort = make_cohort(members=("M1",), member_crns=("Y1",))
    assert FifoAllocator().allocate(make_problem([demand], [cohort])).assignments == ()


def test_assignment_reason_names_cohort_end_deadline_and_risk():
    plan = CurrentPracticeAllocator().allocate(make_problem([make_demand(risk_band="HIGH")], [make_cohort()]))
    assert plan.assignments[0].reason == (
        "earliest cohort with a free place: C1 finishing 2025-05-06 before deadline 2026-01-01 (risk HIGH)"
    )


def test_objective_reports_counts_and_mean_wait_in_weeks():
    demands = [make_demand(referral_id="A", crn="A", referred_on=date(2025, 1, 21)),
               make_demand(referral_id="B", crn="B", referred_on=date(2025, 1, 7)),
               make_demand(referral_id="C", crn="C", programme_code="HSP")]
    plan = FifoAllocator().allocate(make_problem(demands, [make_cohort(start_date=date(2025, 2, 4))]))
    assert plan.objective == {"assigned": 2.0, "unallocated": 1.0, "cohorts_opened": 0.0,
                              "deadline_misses": 1.0, "mean_wait_weeks": 3.0, "kept_current": 0.0}


@pytest.mark.parametrize("allocator", ALLOCATORS, ids=lambda a: a.name)
def test_plan_is_heuristic_named_after_its_allocator_and_passes_the_checker(allocator):
    second = candidate(cohort_id="C2", slots=(Slot(3, "10:00"),))
    problem = make_problem(people(6), [make_cohort(max_size=2), second], two_facilitators())
    plan = allocator.allocate(problem)
    assert len(plan.assignments) == 6 and len(plan.opened) == 1
    assert (plan.status, plan.allocator, plan.region_code) == ("HEURISTIC", allocator.name, "REG")
    assert check_plan(problem, plan) == []


def test_person_ready_only_after_every_start_is_not_ready():
    plan = FifoAllocator().allocate(make_problem([make_demand(ready_from=date(2025, 3, 1))], [make_cohort()]))
    assert reasons(plan) == {"R1": Reason.NOT_READY}


def test_person_unable_to_attend_any_slot_is_not_available():
    demand = make_demand(availability=frozenset({(4, Period.EVENING)}))
    assert reasons(FifoAllocator().allocate(make_problem([demand], [make_cohort()]))) == {"R1": Reason.NOT_AVAILABLE}


def test_unallocated_detail_names_the_candidate_that_could_not_open():
    plan = FifoAllocator().allocate(make_problem(people(3), [candidate(cohort_id="K7")], two_facilitators()))
    assert plan.unallocated[0].detail == "candidate K7 starting 2025-02-04: 3 could join, 4 needed"


@pytest.mark.parametrize("allocator", ALLOCATORS, ids=lambda a: a.name)
def test_a_candidate_offered_beyond_the_grids_budget_is_not_opened_by_a_baseline(allocator):
    """Today's practice plans the grid's own candidates; the later starts offered beyond its budget are CP-SAT's."""
    extra = candidate(cohort_id="K0", start_date=date(2025, 1, 7), extra=True)  # earlier: opened first if seen
    own = candidate(cohort_id="K1")
    problem = make_problem(people(4), [extra, own], two_facilitators())
    plan = allocator.allocate(problem)
    assert plan.opened == (OpenedCohort("K1", ("F1", "F2")),)
    assert plan.assignments == allocator.allocate(make_problem(people(4), [own], two_facilitators())).assignments
    assert check_plan(problem, plan) == []
    alone = allocator.allocate(make_problem(people(4), [extra], two_facilitators()))
    assert alone.opened == () and len(alone.unallocated) == 4
