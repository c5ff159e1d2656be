"""ready: a cohort must start on or after the day the person is ready."""
from __future__ import annotations

from datetime import date

from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

RULE, WITHOUT = only(pair=["ready"]), only()
START = date(2025, 2, 4)


def test_person_joins_a_cohort_starting_on_the_day_they_are_ready():
    problem = tiny_problem([make_demand(ready_from=START)], [make_cohort(start_date=START)])
    assert solve_model(problem, RULE).placed == {("R1", "C1")}


def test_person_never_joins_a_cohort_starting_the_day_before_they_are_ready():
    problem = tiny_problem([make_demand(ready_from=date(2025, 2, 5))], [make_cohort(start_date=START)])
    assert solve_model(problem, RULE).placed == set()
    assert solve_model(problem, WITHOUT).placed == {("R1", "C1")}
