"""min_size: a candidate cohort opens only with at least its minimum size (fixed members count)."""
from __future__ import annotations

from tests.unit.solver.factories import make_candidate, only, people, solve_model, tiny_problem

LINKS = ["max_size"]  # a place needs the candidate open
RULE, WITHOUT = only(constraints=["min_size", *LINKS]), only(constraints=LINKS)


def test_candidate_opens_when_its_minimum_number_wait():
    outcome = solve_model(tiny_problem(people(3), [make_candidate(min_size=3)]), RULE)
    assert "K1" in outcome.opened and len(outcome.members("K1")) == 3


def test_candidate_never_opens_with_fewer_than_its_minimum():
    problem = tiny_problem(people(2), [make_candidate(min_size=3)])
    assert solve_model(problem, RULE).opened == {}
    assert solve_model(problem, RULE).placed == set()
    assert len(solve_model(problem, WITHOUT).members("K1")) == 2


def test_fixed_members_count_towards_the_minimum():
    problem = tiny_problem(people(2), [make_candidate(min_size=3, members=("M1",), member_crns=("Y1",))])
    assert len(solve_model(problem, RULE).members("K1")) == 2
