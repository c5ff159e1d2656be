"""max_size: a cohort takes at most its free places (max size less fixed members), and only if it runs."""
from __future__ import annotations

from solver.build import Term
from tests.unit.solver.factories import make_candidate, make_cohort, most_places, only, people, solve_model, tiny_problem

RULE, WITHOUT = only(constraints=["max_size"]), only()


def opening_cost(points: int):
    def cost(b) -> Term:
        """Soft (test only): points per candidate opened."""
        term = Term("opening_cost", 1)
        for var in b.vars.open.values():
            term.add(points, var)
        return term
    return cost


def test_running_cohort_takes_people_up_to_its_free_places():
    problem = tiny_problem(people(2), [make_cohort(max_size=3, members=("M1",))])
    assert len(solve_model(problem, RULE).members("C1")) == 2


def test_running_cohort_never_takes_more_than_its_free_places():
    problem = tiny_problem(people(4), [make_cohort(max_size=3, members=("M1",))])
    assert len(solve_model(problem, RULE).members("C1")) == 2
    assert len(solve_model(problem, WITHOUT).members("C1")) == 4


def test_cohort_with_more_members_than_places_takes_nobody():
    problem = tiny_problem(people(2), [make_cohort(max_size=2, members=("M1", "M2", "M3"))])
    assert solve_model(problem, RULE).placed == set()
    assert len(solve_model(problem, WITHOUT).placed) == 2


def test_candidate_that_opens_takes_people():
    problem = tiny_problem(people(3), [make_candidate(max_size=8)])
    outcome = solve_model(problem, only(constraints=["max_size"], most_places=most_places, cost=opening_cost(2)))
    assert "K1" in outcome.opened and len(outcome.members("K1")) == 3


def test_nobody_is_placed_in_a_candidate_that_does_not_open():
    problem = tiny_problem(people(3), [make_candidate(max_size=8)])
    goals = dict(most_places=most_places, cost=opening_cost(100))
    kept_shut = solve_model(problem, only(constraints=["max_size"], **goals))
    assert kept_shut.opened == {} and kept_shut.placed == set()
    unlinked = solve_model(problem, only(**goals))
    assert unlinked.opened == {} and len(unlinked.members("K1")) == 3
