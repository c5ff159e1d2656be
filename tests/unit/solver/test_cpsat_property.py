"""Random small problems: CP-SAT itself plans every one (no fall back to current practice), its plan passes the
independent checker, accounts for everyone once, and misses no more deadlines than current practice.

Why the fall back counts as a failure: when CP-SAT finds nothing, or its plan fails the checker, ``solve``
returns the current-practice plan (status ``FALLBACK``) and that plan passes the checker. A property that only
ran the checker therefore passed on a broken model. The mutation tests below break one hard rule on purpose
and show the property catches it, and that the checker alone would not have.
"""
from __future__ import annotations

import pytest
from hypothesis import Phase, given, settings

from solver.baselines import CurrentPracticeAllocator
from solver.build import Build
from solver.check import check_plan
from solver.constraints import CONSTRAINTS
from solver.evaluate import plan_metrics
from solver.model import solve
from solver.schema import Problem
from tests.unit.solver.factories import make_cohort, people, tiny_problem
from tests.unit.solver.test_baselines_property import problems


def small_problems():
    """2-8 demands and 1-4 OPEN/CANDIDATE cohorts of the baseline property test's kinds (non-associations,
    availability, deadlines, sizes), 0-3 facilitators (absences, leavers), two offices of 1-2 rooms."""
    return problems(demands=(2, 8), cohorts=(1, 4), staff=(0, 3), time_limit_s=5, workers=1)


def cpsat_faults(problem: Problem) -> list[str]:
    """Everything wrong with the CP-SAT plan for ``problem``; [] when the model planned it soundly."""
    plan = solve(problem)
    faults = [f"fell back to current practice: {plan.note}"] if plan.status == "FALLBACK" else []
    faults += [f"checker: {v.message}" for v in check_plan(problem, plan)]
    accounted = [a.referral_id for a in plan.assignments] + [u.referral_id for u in plan.unallocated]
    if sorted(accounted) != sorted(d.referral_id for d in problem.demands):
        faults.append(f"referrals not accounted for exactly once: {sorted(accounted)}")
    baseline = plan_metrics(problem, CurrentPracticeAllocator().allocate(problem))
    if plan.objective["deadline_misses"] > baseline["deadline_misses"]:
        faults.append(f"{plan.objective['deadline_misses']:g} deadline misses, current practice "
                      f"{baseline['deadline_misses']:g}")
    return faults


def assert_sound(problem: Problem) -> None:
    """The property's check."""
    faults = cpsat_faults(problem)
    assert faults == [], faults


@settings(max_examples=40)
@given(problem=small_problems())
def test_cpsat_plans_every_problem_itself_soundly_and_misses_no_more_deadlines_than_current_practice(problem):
    assert_sound(problem)


# ---- mutations: break one hard rule on purpose; the property must notice ------------------------------

def everyone_placed(b: Build) -> None:
    """The contradictory bug: ``== 1`` written for ``<= 1``, so everyone who could be placed must be."""
    for rid in b.vars.cohorts_of:
        if b.vars.choices(rid):
            b.model.add_exactly_one(b.vars.choices(rid))


@pytest.fixture
def max_size_left_out(monkeypatch) -> None:
    """The missing-rule bug: max_size adds nothing, as if it had dropped out of the registry."""
    monkeypatch.setitem(CONSTRAINTS, "max_size", lambda b: None)


@pytest.fixture
def one_cohort_contradictory(monkeypatch) -> None:
    monkeypatch.setitem(CONSTRAINTS, "one_cohort", everyone_placed)


THREE_FOR_TWO_PLACES = tiny_problem(people(3), [make_cohort(max_size=2)])


def test_fixtures_leave_a_problem_the_sound_model_plans_itself():
    assert cpsat_faults(THREE_FOR_TWO_PLACES) == []


@pytest.mark.usefixtures("max_size_left_out")
def test_property_catches_a_constraint_left_out_that_the_checker_alone_would_miss():
    plan = solve(THREE_FOR_TWO_PLACES)
    assert check_plan(THREE_FOR_TWO_PLACES, plan) == []  # the fallback plan is sound: the old property passed
    assert cpsat_faults(THREE_FOR_TWO_PLACES) == [
        "fell back to current practice: CP-SAT plan failed the checker: cohort C1 has 3 people, max 2"]
    with pytest.raises(AssertionError):
        assert_sound(THREE_FOR_TWO_PLACES)


@pytest.mark.usefixtures("one_cohort_contradictory")
def test_property_catches_a_contradictory_constraint_that_the_checker_alone_would_miss():
    plan = solve(THREE_FOR_TWO_PLACES)
    assert check_plan(THREE_FOR_TWO_PLACES, plan) == []
    with pytest.raises(AssertionError, match="fell back to current practice: the model is infeasible"):
        assert_sound(THREE_FOR_TWO_PLACES)


@pytest.mark.parametrize("mutation", ["max_size_left_out", "one_cohort_contradictory"])
def test_the_random_property_itself_fails_on_a_broken_model(mutation, request):
    """The property's own body on its own strategy, without shrinking (each mutation broke about half of 200
    random problems, so 40 examples find one; the run stops at the first)."""
    request.getfixturevalue(mutation)
    body = test_cpsat_plans_every_problem_itself_soundly_and_misses_no_more_deadlines_than_current_practice
    quick = settings(max_examples=40, phases=[Phase.generate], database=None)(
        given(problem=small_problems())(body.hypothesis.inner_test))
    with pytest.raises(AssertionError, match="fell back to current practice"):
        quick()
