"""Random small problems: every CP-SAT plan passes the independent checker, accounts for everyone once,
and misses no more deadlines than current practice on the same problem."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from solver.baselines import CurrentPracticeAllocator
from solver.check import check_plan
from solver.evaluate import plan_metrics
from solver.model import solve
from solver.schema import Office, Params, Problem
from tests.unit.solver.factories import AS_OF
from tests.unit.solver.test_baselines_property import CRNS, COHORT, COHORT_IDS, DEMAND, FACILITATOR, STAFF_IDS

rooms = st.integers(1, 2)


@st.composite
def small_problems(draw) -> Problem:
    """2-8 demands and 1-4 OPEN/CANDIDATE cohorts of the baseline property test's kinds (non-associations,
    availability, deadlines, sizes), 0-3 facilitators (absences, leavers), two offices of 1-2 rooms."""
    sizes = draw(st.tuples(st.integers(2, 8), st.integers(1, 4), st.integers(0, 3)))
    people, groups, staff = (draw(st.lists(strategy, min_size=n, max_size=n))
                             for strategy, n in zip((DEMAND, COHORT, FACILITATOR), sizes))
    return Problem(
        region_code="REG", as_of=AS_OF,
        demands=tuple(replace(d, referral_id=f"R{i:02d}", crn=CRNS[i]) for i, d in enumerate(people)),
        cohorts=tuple(replace(c, cohort_id=COHORT_IDS[i]) for i, c in enumerate(groups)),
        facilitators=tuple(replace(f, facilitator_id=STAFF_IDS[i]) for i, f in enumerate(staff)),
        offices=(Office("OFF1", "PDU1", rooms=draw(rooms)), Office("OFF2", "PDU1", rooms=draw(rooms))),
        params=Params(deadline_margin_days=draw(st.sampled_from((0, 14, 28))), time_limit_s=5, workers=1),
    )


@settings(max_examples=40)
@given(problem=small_problems())
def test_every_cpsat_plan_passes_the_checker_and_misses_no_more_deadlines_than_current_practice(problem):
    plan = solve(problem)
    assert check_plan(problem, plan) == []
    accounted = [a.referral_id for a in plan.assignments] + [u.referral_id for u in plan.unallocated]
    assert sorted(accounted) == sorted(d.referral_id for d in problem.demands)
    baseline = plan_metrics(problem, CurrentPracticeAllocator().allocate(problem))
    assert plan.objective["deadline_misses"] <= baseline["deadline_misses"]
