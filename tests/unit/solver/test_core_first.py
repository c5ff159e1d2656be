"""Candidates beyond the grid's budget (``CohortOption.extra``): the plan without them is found first, and the
plan with them starts from it and never ranks below it (solver.model._core_first)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings, strategies as st

from solver.check import check_plan
from solver.model import build, solve, tiers
from solver.schema import Problem
from tests.unit.solver.factories import URGENT_DEADLINE, make_candidate, people, tiny_problem, two_facilitators
from tests.unit.solver.test_cpsat_property import assert_sound, small_problems

TOO_LATE = dict(start_date=date(2025, 6, 3), end_date=date(2025, 10, 1))  # ends after URGENT_DEADLINE


def without_extras(problem: Problem) -> Problem:
    return replace(problem, cohorts=tuple(c for c in problem.cohorts if not c.extra))


def placed(plan) -> dict[str, str]:
    return {a.referral_id: a.cohort_id for a in plan.assignments}


def test_an_extra_candidate_is_opened_when_it_saves_deadlines_the_core_candidates_cannot():
    urgent = people(3, deadline=URGENT_DEADLINE)
    core = make_candidate(cohort_id="K9", min_size=3, **TOO_LATE)
    extra = make_candidate(cohort_id="K1", min_size=3, extra=True)
    problem = tiny_problem(urgent, [core, extra], two_facilitators())
    assert placed(solve(without_extras(problem))) == {}  # the late group would end after their deadline
    plan = solve(problem)
    assert plan.status != "FALLBACK"
    assert placed(plan) == {"R01": "K1", "R02": "K1", "R03": "K1"}
    assert check_plan(problem, plan) == []
    assert plan.objective["deadline_misses"] == 0


def test_extra_candidates_that_add_nothing_leave_the_plan_without_them():
    urgent = people(3, deadline=URGENT_DEADLINE)
    core = make_candidate(cohort_id="K1", min_size=3)
    extra = make_candidate(cohort_id="K9", min_size=3, extra=True, **TOO_LATE)
    problem = tiny_problem(urgent, [core, extra], two_facilitators())
    plan, alone = solve(problem), solve(without_extras(problem))
    assert placed(plan) == placed(alone) == {"R01": "K1", "R02": "K1", "R03": "K1"}
    assert plan.opened == alone.opened


def test_a_fixed_limit_is_shared_between_the_two_solves_and_a_sized_one_is_recorded_whole():
    problem = tiny_problem(people(3), [make_candidate(cohort_id="K1", min_size=3),
                                       make_candidate(cohort_id="K2", min_size=3, extra=True, **TOO_LATE)],
                           two_facilitators(), time_limit_s=None)
    plan = solve(problem)
    assert plan.objective["time_limit_s"] >= 2.0  # the two sized budgets (1 s at least each)


@settings(max_examples=25)
@given(problem=small_problems(), marks=st.lists(st.booleans(), min_size=4, max_size=4))
def test_marking_candidates_extra_never_ranks_a_plan_below_the_plan_without_them(problem, marks):
    cohorts = tuple(replace(c, extra=mark and c.state.value == "CANDIDATE")
                    for c, mark in zip(problem.cohorts, marks + [False] * len(problem.cohorts)))
    problem = replace(problem, cohorts=cohorts)
    assert_sound(problem)  # planned by CP-SAT itself, checked, everyone accounted for, no worse than practice
    plan, alone = solve(problem), solve(without_extras(problem))
    assert tier_one(problem, plan) <= tier_one(problem, alone)


def tier_one(problem: Problem, plan) -> int:
    """The plan's deadline misses as the whole problem's model weighs them (tier 1 depends on the candidates
    offered, so each plan is valued on the same model)."""
    b = build(problem)
    values = b.vars.values_of(placed(plan), {o.cohort_id: o.facilitator_ids for o in plan.opened})
    return sum(t.value(lambda v: values.get(v.index, 0)) for t in tiers(b)[1])


def test_the_trace_starts_with_the_core_solves_solutions_on_the_plans_clock():
    """The plan without the extras is a plan of the whole model, found first: the trace's first entries are its
    own (labelled /core), so the time to the first feasible plan is when it existed, then the whole model's."""
    urgent = people(3, deadline=URGENT_DEADLINE)
    problem = tiny_problem(urgent, [make_candidate(cohort_id="K9", min_size=3, **TOO_LATE),
                                    make_candidate(cohort_id="K1", min_size=3, extra=True)], two_facilitators())
    plan = solve(problem)
    stages = [stage for _, stage, _ in plan.trace]
    core = [n for n, stage in enumerate(stages) if stage.endswith("/core")]
    assert core and core == list(range(len(core)))  # the core's entries first, in order
    assert len(stages) > len(core)  # then the whole model's: it opened the extra candidate
    times = [t for t, _, _ in plan.trace]
    assert times == sorted(times) and times[-1] <= plan.solve_seconds


def test_a_sized_budget_builds_the_whole_model_only_once_the_cores_plan_exists(monkeypatch):
    """The core's share of a sized budget is read off its own size, so the whole model (the longer build) waits
    until the core's plan is made: the first plan comes as early as without the extras. A fixed limit is split
    by the two sizes, so it builds both first."""
    import solver.model as model
    calls: list[tuple[str, bool]] = []
    real_build, real_solve = model.build, model._solve

    def build(problem, rules=None, prune=None):
        calls.append(("build", any(c.extra for c in problem.cohorts)))
        return real_build(problem, rules, prune)

    def solve_built(problem, b, *args, **kwargs):
        calls.append(("solve", any(c.extra for c in problem.cohorts)))
        return real_solve(problem, b, *args, **kwargs)

    monkeypatch.setattr(model, "build", build)
    monkeypatch.setattr(model, "_solve", solve_built)
    cohorts = [make_candidate(cohort_id="K1", min_size=3), make_candidate(cohort_id="K2", min_size=3, extra=True)]
    sized = solve(tiny_problem(people(3), cohorts, two_facilitators(), time_limit_s=None))
    assert calls == [("build", False), ("solve", False), ("build", True), ("solve", True)]
    calls.clear()
    fixed = solve(tiny_problem(people(3), cohorts, two_facilitators(), time_limit_s=1.0))
    assert calls == [("build", False), ("build", True), ("solve", False), ("solve", True)]
    for plan in (sized, fixed):
        assert plan.status != "FALLBACK" and len(placed(plan)) == 3
