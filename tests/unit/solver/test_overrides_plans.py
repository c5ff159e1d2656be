"""Planner overrides through whole plans: the checker flags a plan that ignores one, every allocator honours
those that stand, and the explanations name the override."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from solver.baselines import CurrentPracticeAllocator, FifoAllocator
from solver.check import check_plan
from solver.model import solve
from solver.overrides import standing_of
from solver.schema import (Assignment, CohortState, Override, OverrideKind as K, Plan, Problem, Unallocated,
                           UnallocatedReason)
from tests.unit.solver.factories import AS_OF, make_cohort, make_demand, tiny_problem
from tests.unit.solver.test_cpsat_property import small_problems


def ov(kind: K, number: int = 1, **fields) -> Override:
    return Override(f"ov-{number:06d}", kind, **fields)


def plan_of(problem: Problem, placed: dict[str, str]) -> Plan:
    return Plan("test", problem.region_code, problem.as_of,
                tuple(Assignment(rid, cid, "test") for rid, cid in sorted(placed.items())),
                unallocated=tuple(Unallocated(d.referral_id, UnallocatedReason.NO_PLACE)
                                  for d in problem.demands if d.referral_id not in placed))


def override_faults(problem: Problem, plan: Plan) -> list[str]:
    return [v.message for v in check_plan(problem, plan) if v.rule == "override"]


# ---- the checker -----------------------------------------------------------------------------------

def test_the_checker_flags_a_held_referral_placed_and_a_never_pair():
    hold = ov(K.HOLD, 1, referral_id="R1", until=AS_OF + timedelta(days=7))
    never = ov(K.NEVER, 2, referral_id="R2", cohort_id="C1")
    problem = tiny_problem([make_demand(overrides=(hold,)), make_demand(referral_id="R2", crn="X002",
                                                                        overrides=(never,))], [make_cohort()])
    faults = override_faults(problem, plan_of(problem, {"R1": "C1", "R2": "C1"}))
    assert any("held out of planning by override ov-000001" in f for f in faults)
    assert any("never on C1 by override ov-000002" in f for f in faults)
    assert override_faults(problem, plan_of(problem, {})) == []


def test_the_checker_flags_a_kept_referral_left_off_its_running_cohort_and_a_newcomer_on_a_locked_one():
    keep = ov(K.KEEP, 1, referral_id="R1", cohort_id="C1")
    lock = ov(K.LOCK, 2, cohort_id="C2")
    problem = tiny_problem([make_demand(overrides=(keep,)), make_demand(referral_id="R2", crn="X002")],
                           [make_cohort(), make_cohort(cohort_id="C2", overrides=(lock,))])
    faults = override_faults(problem, plan_of(problem, {"R2": "C2"}))
    assert any("R1 is not on C1, but kept on C1 by override ov-000001" in f for f in faults)
    assert any("R2 placed on C2" in f and "locked by override ov-000002" in f for f in faults)
    assert override_faults(problem, plan_of(problem, {"R1": "C1"})) == []


def test_the_checker_does_not_ask_for_a_keep_that_was_set_aside():
    keep = ov(K.KEEP, referral_id="R1", cohort_id="C1")
    problem = tiny_problem([make_demand(sex="FEMALE", overrides=(keep,))], [make_cohort(sex="MALE")])
    assert override_faults(problem, plan_of(problem, {})) == []


# ---- allocators and explanations -------------------------------------------------------------------

def test_every_allocator_keeps_the_kept_referral_and_says_why():
    keep = ov(K.KEEP, referral_id="R2", cohort_id="C2")
    demands = [make_demand(), make_demand(referral_id="R2", crn="X002", overrides=(keep,))]
    problem = tiny_problem(demands, [make_cohort(), make_cohort(cohort_id="C2", start_date=AS_OF + timedelta(days=60),
                                                                 end_date=AS_OF + timedelta(days=150))])
    for plan in (solve(problem), CurrentPracticeAllocator().allocate(problem), FifoAllocator().allocate(problem)):
        assert plan.cohort_of("R2") == "C2", plan.allocator
        kept = next(a for a in plan.assignments if a.referral_id == "R2")
        assert "kept on C2 by override ov-000001" in kept.reason
        assert check_plan(problem, plan) == []


def test_a_held_referral_is_unplaced_by_every_allocator_with_the_override_as_the_reason():
    hold = ov(K.HOLD, referral_id="R1", until=AS_OF + timedelta(days=21))
    problem = tiny_problem([make_demand(overrides=(hold,))], [make_cohort()])
    for plan in (solve(problem), CurrentPracticeAllocator().allocate(problem)):
        [why] = plan.unallocated
        assert why.reason == UnallocatedReason.OVERRIDE
        assert why.detail == f"held out of planning by override ov-000001 until {AS_OF + timedelta(days=21)}"


def test_never_on_the_only_cohort_is_the_reason_given():
    never = ov(K.NEVER, referral_id="R1", cohort_id="C1")
    problem = tiny_problem([make_demand(overrides=(never,))], [make_cohort()])
    [why] = solve(problem).unallocated
    assert (why.reason, why.detail) == (UnallocatedReason.OVERRIDE, "never on C1 by override ov-000001")


# ---- the property ----------------------------------------------------------------------------------

@st.composite
def overridden(draw):
    """A small random problem with random overrides on its referrals and cohorts (some of them unsafe)."""
    problem = draw(small_problems())
    cohort_ids = [c.cohort_id for c in problem.cohorts]
    demands, number = [], 0
    for d in problem.demands:
        kinds = draw(st.lists(st.sampled_from([K.KEEP, K.NEVER, K.HOLD]), max_size=2))
        mine = []
        for kind in kinds:
            number += 1
            until = AS_OF + timedelta(days=draw(st.integers(-7, 30))) if kind == K.HOLD else None
            cid = draw(st.sampled_from(cohort_ids)) if kind != K.HOLD else None
            holds = draw(st.booleans()) and kind == K.KEEP
            mine.append(ov(kind, number, referral_id=d.referral_id, cohort_id=cid, until=until))
            d = replace(d, current_cohort_id=cid) if holds else d
        demands.append(replace(d, overrides=tuple(mine)))
    cohorts = []
    for c in problem.cohorts:
        number += 1
        locked = draw(st.booleans()) and draw(st.booleans())
        cohorts.append(replace(c, overrides=(ov(K.LOCK, number, cohort_id=c.cohort_id),) if locked else ()))
    return replace(problem, demands=tuple(demands), cohorts=tuple(cohorts))


@settings(max_examples=30, deadline=None)
@given(problem=overridden())
def test_cpsat_and_the_baselines_honour_every_override_that_stands(problem):
    standing = standing_of(problem)
    for plan in (solve(problem), CurrentPracticeAllocator().allocate(problem)):
        assert check_plan(problem, plan) == [], plan.allocator
        placed = {a.referral_id: a.cohort_id for a in plan.assignments}
        assert not placed.keys() & standing.held.keys()
        assert not {(rid, cid) for rid, cid in placed.items()} & standing.never.keys()
        opened = {o.cohort_id for o in plan.opened}
        for rid, (cid, _) in standing.bound_to().items():
            cohort = problem.cohort(cid)
            if cohort.state == CohortState.OPEN or cid in opened:
                assert placed.get(rid) == cid
    assert solve(problem).status != "FALLBACK"
