"""one_cohort: a referral takes at most one place."""
from __future__ import annotations

from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

RULE, WITHOUT = only(constraints=["one_cohort"]), only()
TWO_COHORTS = [make_cohort(cohort_id="C1"), make_cohort(cohort_id="C2")]


def test_person_takes_a_place():
    assert len(solve_model(tiny_problem([make_demand()], TWO_COHORTS), RULE).placed) == 1


def test_person_never_takes_two_places():
    problem = tiny_problem([make_demand()], TWO_COHORTS)
    assert len(solve_model(problem, RULE).placed) == 1
    assert solve_model(problem, WITHOUT).placed == {("R1", "C1"), ("R1", "C2")}
