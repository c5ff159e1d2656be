"""solver.flow_hint: the large models' warm start — placements by min-cost flow, openings greedily — and the
check that a hint satisfies every constraint of the model before the solve trusts it."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

import solver.model as model_module
from solver.baselines import CurrentPracticeAllocator
from solver.check import check_plan
from solver.flow_hint import _Flow, flow_plan, satisfies
from solver.model import build, solve
from solver.schema import Assignment, OpenedCohort, Plan, Slot
from tests.unit.solver.factories import (
    URGENT_DEADLINE,
    make_candidate,
    make_cohort,
    make_demand,
    make_facilitator,
    make_office,
    tiny_problem,
)
from tests.unit.solver.test_baselines_property import problems
from tests.unit.solver.test_cpsat_property import cpsat_faults

START, TUESDAY, THURSDAY = date(2025, 2, 4), Slot(1, "10:00"), Slot(3, "10:00")


def chain_problem():
    """R1 holds the only place on running O1 and need not start yet; R2 must start now and can only join O1;
    R1 could also join candidate K1 (minimum 1), which a free facilitator can run. Current practice keeps R1
    where they are and misses R2; moving R1 to a newly opened K1 places both."""
    holder = make_demand(referral_id="R1", crn="X001", current_cohort_id="O1")
    urgent = make_demand(referral_id="R2", crn="X002", deadline=URGENT_DEADLINE, risk_band="HIGH",
                         reachable_offices=frozenset({"OFF1"}))
    running = make_cohort(cohort_id="O1", slots=(TUESDAY,), start_date=START, max_size=2, members=("M1",),
                          facilitator_ids=("F9",))
    candidate = make_candidate(cohort_id="K1", office_code="OFF2", slots=(THURSDAY,), start_date=START,
                               min_size=1, facilitators_required=1)
    staff = [make_facilitator(facilitator_id="F1", offices=frozenset({"OFF2"}))]
    return tiny_problem([holder, urgent], [running, candidate], staff,
                        [make_office(), make_office(office_code="OFF2")])


def as_plan(problem, chosen, opened) -> Plan:
    return Plan("flow", problem.region_code, problem.as_of,
                tuple(Assignment(rid, cid, "flow") for rid, cid in sorted(chosen.items())),
                tuple(OpenedCohort(cid, fids) for cid, fids in sorted(opened.items())))


def test_the_flow_moves_a_holder_to_a_new_cohort_so_that_someone_urgent_takes_their_place():
    problem = chain_problem()
    b, baseline = build(problem, prune=True), CurrentPracticeAllocator().allocate(problem)
    assert {a.referral_id for a in baseline.assignments} == {"R1"}  # the chain current practice does not see
    chosen, opened = flow_plan(b, baseline)
    assert chosen == {"R1": "K1", "R2": "O1"} and opened == {"K1": ("F1",)}
    assert _Flow(b).misses(chosen) == 0 < _Flow(b).misses({"R1": "O1"})
    assert satisfies(b.model, b.vars.values_of(chosen, opened))
    assert [v for v in check_plan(problem, as_plan(problem, chosen, opened)) if v.rule != "accounting"] == []


def test_a_large_models_solve_starts_from_the_flow_plan(monkeypatch):
    monkeypatch.setattr(model_module, "LNS_FIRST_MIN_VARIABLES", 0)  # the tiny problem counts as large
    problem = chain_problem()
    plan = solve(problem)
    assert plan.status != "FALLBACK" and check_plan(problem, plan) == []
    assert {a.referral_id: a.cohort_id for a in plan.assignments} == {"R1": "K1", "R2": "O1"}


def test_the_constraint_check_rejects_what_the_model_forbids():
    problem = chain_problem()
    b = build(problem, prune=True)
    assert satisfies(b.model, b.vars.values_of({"R1": "O1"}, {}))
    assert not satisfies(b.model, b.vars.values_of({"R1": "O1", "R2": "O1"}, {}))  # two for one place
    assert not satisfies(b.model, b.vars.values_of({"R2": "O1"}, {}))  # the holder dropped (keep_published)
    assert not satisfies(b.model, b.vars.values_of({"R1": "K1", "R2": "O1"}, {}))  # a place on a closed cohort


def test_no_flow_plan_for_an_incremental_replan():
    problem = chain_problem()
    problem = replace(problem, params=replace(problem.params, focus=frozenset({("BC", "OFF1")})))
    assert flow_plan(build(problem, prune=True), CurrentPracticeAllocator().allocate(problem)) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(demands=(2, 10), cohorts=(1, 5), staff=(0, 3), time_limit_s=5, workers=1))
def test_a_flow_plan_that_satisfies_the_model_passes_the_independent_checker(problem):
    b, baseline = build(problem, prune=True), CurrentPracticeAllocator().allocate(problem)
    result = flow_plan(b, baseline)
    if result is None or not satisfies(b.model, b.vars.values_of(*result)):
        return
    violations = check_plan(problem, as_plan(problem, *result))
    assert [v for v in violations if v.rule != "accounting"] == []


@pytest.fixture
def every_model_large(monkeypatch):
    monkeypatch.setattr(model_module, "LNS_FIRST_MIN_VARIABLES", 0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(problem=problems(demands=(2, 8), cohorts=(1, 4), staff=(0, 3), time_limit_s=5, workers=1))
def test_large_model_plans_pruned_and_flow_started_stay_sound(every_model_large, problem):
    assert cpsat_faults(problem) == []


def test_when_the_search_finds_nothing_the_checked_flow_plan_stands_instead_of_current_practice(monkeypatch):
    """A large model under load: presolve outlasted the budget (simulated: no stage runs)."""
    monkeypatch.setattr(model_module, "LNS_FIRST_MIN_VARIABLES", 0)
    monkeypatch.setattr(model_module._Run, "lexicographic", lambda run, by_tier: None)
    problem = chain_problem()
    plan = solve(problem)
    assert plan.status == "FEASIBLE" and "flow warm start stands" in plan.note
    assert {a.referral_id: a.cohort_id for a in plan.assignments} == {"R1": "K1", "R2": "O1"}
    assert check_plan(problem, plan) == []
