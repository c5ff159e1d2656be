"""facilitator_count: an opened candidate gets exactly its required number of eligible facilitators."""
from __future__ import annotations

from solver.build import Term
from tests.unit.solver.factories import (
    make_candidate,
    make_facilitator,
    most_places,
    only,
    people,
    solve_model,
    tiny_problem,
)

LINKS = ["max_size"]  # a place needs the candidate open
STAFF = [make_facilitator(facilitator_id=fid) for fid in ("F1", "F2", "F3")]


def staffing(points: int):
    def goal(b) -> Term:
        """Soft (test only): points per facilitator staffing a candidate."""
        term = Term("staffing", 1)
        for var in b.vars.staff.values():
            term.add(points, var)
        return term
    return goal


def rules(points: int, with_rule: bool = True):
    return only(constraints=(["facilitator_count"] if with_rule else []) + LINKS, most_places=most_places,
                staffing=staffing(points))


def test_opened_candidate_gets_its_required_facilitators_even_when_staff_cost_something():
    problem = tiny_problem(people(3), [make_candidate(facilitators_required=2)], STAFF)
    outcome = solve_model(problem, rules(points=1))
    assert len(outcome.opened["K1"]) == 2
    assert solve_model(problem, rules(points=1, with_rule=False)).opened == {"K1": ()}


def test_opened_candidate_never_gets_more_facilitators_than_required():
    problem = tiny_problem(people(3), [make_candidate(facilitators_required=2)], STAFF)
    assert len(solve_model(problem, rules(points=-1)).opened["K1"]) == 2
    assert solve_model(problem, rules(points=-1, with_rule=False)).opened == {"K1": ("F1", "F2", "F3")}


def test_candidate_never_opens_with_fewer_eligible_facilitators_than_required():
    problem = tiny_problem(people(3), [make_candidate(facilitators_required=2)], STAFF[:1])
    assert solve_model(problem, rules(points=0)).opened == {}
    assert solve_model(problem, rules(points=0, with_rule=False)).members("K1") == {"R01", "R02", "R03"}
