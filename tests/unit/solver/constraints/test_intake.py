"""intake: nobody new joins a cohort that started before the plan date."""
from __future__ import annotations

from datetime import timedelta

from tests.unit.solver.factories import AS_OF, make_cohort, make_demand, only, solve_model, tiny_problem

RULE, WITHOUT = only(pair=["intake"]), only()


def test_cohort_starting_on_the_plan_date_takes_newcomers():
    problem = tiny_problem([make_demand()], [make_cohort(start_date=AS_OF)])
    assert solve_model(problem, RULE).placed == {("R1", "C1")}


def test_nobody_new_joins_a_cohort_that_started_the_day_before_the_plan_date():
    problem = tiny_problem([make_demand()], [make_cohort(start_date=AS_OF - timedelta(days=1))])
    assert solve_model(problem, RULE).placed == set()
    assert solve_model(problem, WITHOUT).placed == {("R1", "C1")}
