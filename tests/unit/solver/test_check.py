from __future__ import annotations

from dataclasses import replace
from datetime import date

from solver.check import check_plan
from solver.schema import Assignment, CohortState, OpenedCohort, Plan, Slot, Unallocated, UnallocatedReason
from tests.unit.solver.factories import (
    AS_OF,
    make_cohort,
    make_demand,
    make_facilitator,
    make_office,
    make_problem,
)

OPEN = make_cohort(cohort_id="O1", max_size=3, members=("M1",), member_crns=("Y1",))
CANDIDATE = make_cohort(cohort_id="K1", state=CohortState.CANDIDATE, min_size=2, max_size=4,
                        slots=(Slot(3, "10:00"),))
DEMANDS = [make_demand(referral_id=r, crn=f"C{r}") for r in ("A", "B", "C")]


def problem(demands=DEMANDS, cohorts=(OPEN, CANDIDATE), facilitators=None, offices=()):
    staff = facilitators or [make_facilitator(facilitator_id="F1"), make_facilitator(facilitator_id="F2")]
    return make_problem(demands, cohorts, staff, offices)


def good_plan(**overrides) -> Plan:
    defaults = dict(
        allocator="test", region_code="REG", as_of=AS_OF,
        assignments=(Assignment("A", "O1", ""), Assignment("B", "K1", ""), Assignment("C", "K1", "")),
        opened=(OpenedCohort("K1", ("F1", "F2")),),
    )
    return Plan(**{**defaults, **overrides})


def broken(prob, plan) -> set[str]:
    return {v.rule for v in check_plan(prob, plan)}


def test_a_valid_plan_has_no_violations():
    assert check_plan(problem(), good_plan()) == []


def test_unallocated_people_with_reasons_are_accepted():
    plan = good_plan(assignments=(Assignment("B", "K1", ""), Assignment("C", "K1", "")),
                     unallocated=(Unallocated("A", UnallocatedReason.NO_PLACE),))
    assert check_plan(problem(), plan) == []


def test_assignment_of_an_unknown_referral_is_flagged():
    plan = good_plan(assignments=good_plan().assignments + (Assignment("ZZ", "O1", ""),))
    assert broken(problem(), plan) == {"unknown-referral"}


def test_assignment_to_an_unknown_cohort_is_flagged():
    plan = good_plan(assignments=(Assignment("A", "NOPE", ""),) + good_plan().assignments[1:])
    assert "unknown-cohort" in broken(problem(), plan)


def test_opening_a_cohort_that_is_already_open_is_flagged():
    plan = good_plan(opened=good_plan().opened + (OpenedCohort("O1", ("F1", "F2")),))
    assert "opened-not-candidate" in broken(problem(), plan)


def test_two_cohorts_for_one_referral_are_flagged():
    plan = good_plan(assignments=good_plan().assignments + (Assignment("A", "K1", ""),))
    assert broken(problem(), plan) == {"one-cohort-per-referral"}


def test_placing_someone_past_their_deadline_is_flagged():
    late = replace(DEMANDS[0], deadline=date(2025, 5, 1))
    violations = check_plan(problem(demands=[late, *DEMANDS[1:]]), good_plan())
    assert [v.rule for v in violations] == ["compatibility"]
    assert "A" in violations[0].message and "O1" in violations[0].message


def test_placing_a_woman_in_a_male_group_is_flagged():
    woman = replace(DEMANDS[0], sex="FEMALE")
    assert broken(problem(demands=[woman, *DEMANDS[1:]], cohorts=(replace(OPEN, sex="MALE"), CANDIDATE)),
                  good_plan()) == {"compatibility"}


def test_cohort_over_max_size_is_flagged():
    assert broken(problem(cohorts=(replace(OPEN, max_size=1), CANDIDATE)), good_plan()) == {"max-size"}


def test_filling_a_candidate_that_is_not_opened_is_flagged():
    assert broken(problem(), good_plan(opened=())) == {"candidate-not-opened"}


def test_opened_cohort_below_min_size_is_flagged():
    assert broken(problem(cohorts=(OPEN, replace(CANDIDATE, min_size=3))), good_plan()) == {"min-size"}


def test_opened_cohort_with_too_few_facilitators_is_flagged():
    assert broken(problem(), good_plan(opened=(OpenedCohort("K1", ("F1",)),))) == {"facilitator-count"}


def test_the_same_facilitator_twice_is_flagged():
    assert broken(problem(), good_plan(opened=(OpenedCohort("K1", ("F1", "F1")),))) == {"facilitator-count"}


def test_untrained_facilitator_is_flagged():
    staff = [make_facilitator(facilitator_id="F1"),
             make_facilitator(facilitator_id="F2", programmes=frozenset())]
    violations = check_plan(problem(facilitators=staff), good_plan())
    assert [v.rule for v in violations] == ["facilitator-eligibility"] and "F2" in violations[0].message


def test_unknown_facilitator_is_flagged():
    plan = good_plan(opened=(OpenedCohort("K1", ("F1", "F9")),))
    assert broken(problem(), plan) == {"facilitator-eligibility"}


def test_facilitator_over_weekly_hours_is_flagged():
    staff = [make_facilitator(facilitator_id="F1", weekly_hours=10.0), make_facilitator(facilitator_id="F2")]
    busy = replace(OPEN, facilitator_ids=("F1",))
    prob = problem(cohorts=(busy, CANDIDATE), facilitators=staff)
    assert broken(prob, good_plan()) == {"facilitator-hours"}


def test_overloaded_open_cohorts_alone_are_not_the_plans_fault():
    staff = [make_facilitator(facilitator_id="F1", weekly_hours=1.0)]
    busy = replace(OPEN, facilitator_ids=("F1",))
    plan = good_plan(assignments=good_plan().assignments[:1], opened=(),
                     unallocated=tuple(Unallocated(r, UnallocatedReason.NO_FACILITATOR) for r in ("B", "C")))
    assert check_plan(problem(cohorts=(busy, CANDIDATE), facilitators=staff), plan) == []


def test_facilitator_double_booked_on_one_slot_is_flagged():
    busy = replace(OPEN, facilitator_ids=("F1",))
    same_slot = replace(CANDIDATE, slots=OPEN.slots)
    prob = problem(cohorts=(busy, same_slot), offices=[make_office(rooms=2)],
                   facilitators=[make_facilitator(facilitator_id=f, weekly_hours=99.0) for f in ("F1", "F2")])
    assert broken(prob, good_plan()) == {"double-booking"}


def test_more_concurrent_cohorts_than_rooms_is_flagged():
    same_slot = replace(CANDIDATE, slots=OPEN.slots)
    violations = check_plan(problem(cohorts=(OPEN, same_slot)), good_plan())
    assert [v.rule for v in violations] == ["rooms"] and "OFF1" in violations[0].message


def test_non_associated_referrals_in_one_cohort_are_flagged():
    b = replace(DEMANDS[1], non_associations=frozenset({"CC"}))
    assert broken(problem(demands=[DEMANDS[0], b, DEMANDS[2]]), good_plan()) == {"non-association"}


def test_referral_placed_with_a_non_associated_member_is_flagged():
    a = replace(DEMANDS[0], non_associations=frozenset({"Y1"}))
    assert broken(problem(demands=[a, *DEMANDS[1:]]), good_plan()) == {"non-association"}


def test_referral_placed_with_a_member_who_names_them_is_flagged():
    named = replace(OPEN, member_non_associations=frozenset({DEMANDS[0].crn}))
    assert broken(problem(cohorts=(named, CANDIDATE)), good_plan()) == {"non-association"}


def test_referral_neither_assigned_nor_unallocated_is_flagged():
    plan = good_plan(assignments=good_plan().assignments[:2])
    assert broken(problem(cohorts=(OPEN, replace(CANDIDATE, min_size=1))), plan) == {"accounting"}


def test_referral_both_assigned_and_unallocated_is_flagged():
    plan = good_plan(unallocated=(Unallocated("C", UnallocatedReason.NO_PLACE),))
    assert broken(problem(), plan) == {"accounting"}


def test_unknown_referral_listed_as_unallocated_is_flagged():
    plan = good_plan(unallocated=(Unallocated("ZZ", UnallocatedReason.NO_PLACE),))
    assert broken(problem(), plan) == {"unknown-referral"}
