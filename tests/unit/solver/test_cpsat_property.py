"""Random small problems: every CP-SAT plan passes the independent checker, accounts for everyone once,
and misses no more deadlines than current practice on the same problem."""
from __future__ import annotations

from hypothesis import given, settings

from solver.baselines import CurrentPracticeAllocator
from solver.check import check_plan
from solver.evaluate import plan_metrics
from solver.model import solve
from tests.unit.solver.test_baselines_property import problems


def small_problems():
    """2-8 demands and 1-4 OPEN/CANDIDATE cohorts of the baseline property test's kinds (non-associations,
    availability, deadlines, sizes), 0-3 facilitators (absences, leavers), two offices of 1-2 rooms."""
    return problems(demands=(2, 8), cohorts=(1, 4), staff=(0, 3), time_limit_s=5, workers=1)


@settings(max_examples=40)
@given(problem=small_problems())
def test_every_cpsat_plan_passes_the_checker_and_misses_no_more_deadlines_than_current_practice(problem):
    plan = solve(problem)
    assert check_plan(problem, plan) == []
    accounted = [a.referral_id for a in plan.assignments] + [u.referral_id for u in plan.unallocated]
    assert sorted(accounted) == sorted(d.referral_id for d in problem.demands)
    baseline = plan_metrics(problem, CurrentPracticeAllocator().allocate(problem))
    assert plan.objective["deadline_misses"] <= baseline["deadline_misses"]
