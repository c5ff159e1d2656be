"""focus: in an incremental re-plan, nothing changes outside the programme × office cells re-planned."""
from __future__ import annotations

from solver.build import Term
from tests.unit.solver.factories import (
    make_candidate,
    make_cohort,
    make_demand,
    most_places,
    only,
    solve_model,
    tiny_problem,
)

FOCUS = frozenset({("BC", "OFF2")})
OUTSIDE, INSIDE, ALSO_INSIDE = (make_cohort(cohort_id=cid, office_code=office)
                                for cid, office in (("O1", "OFF1"), ("O2", "OFF2"), ("O3", "OFF2")))


def prefer(cohort_id: str):
    def goal(b) -> Term:
        """Soft (test only): a place in the preferred cohort is worth two points, any other place one."""
        term = Term("prefer", 1)
        for (_, cid), var in b.vars.x.items():
            term.add(-2 if cid == cohort_id else -1, var)
        return term
    return goal


def solved(with_rule: bool, demand, cohorts, goal, focus=FOCUS):
    rules = only(constraints=(["focus"] if with_rule else []) + ["one_cohort", "max_size"], goal=goal)
    return solve_model(tiny_problem([demand], cohorts, focus=focus), rules)


def placed(with_rule: bool, demand, cohorts, goal, focus=FOCUS) -> set[tuple[str, str]]:
    return solved(with_rule, demand, cohorts, goal, focus).placed


def test_place_inside_the_focus_cells_may_move():
    person = make_demand(current_cohort_id="O2")
    assert placed(True, person, [OUTSIDE, INSIDE, ALSO_INSIDE], prefer("O3")) == {("R1", "O3")}


def test_without_a_focus_everything_may_change():
    person = make_demand(current_cohort_id="O1")
    assert placed(True, person, [OUTSIDE, INSIDE], prefer("O2"), focus=None) == {("R1", "O2")}


def test_published_place_outside_the_focus_cells_never_moves():
    person = make_demand(current_cohort_id="O1")
    assert placed(True, person, [OUTSIDE, INSIDE], prefer("O2")) == {("R1", "O1")}
    assert placed(False, person, [OUTSIDE, INSIDE], prefer("O2")) == {("R1", "O2")}


def test_nobody_new_joins_a_cohort_outside_the_focus_cells():
    person = make_demand()
    assert placed(True, person, [OUTSIDE], most_places) == set()
    assert placed(False, person, [OUTSIDE], most_places) == {("R1", "O1")}


def test_candidate_outside_the_focus_cells_never_opens():
    person, shut = make_demand(), make_candidate(cohort_id="K1", office_code="OFF1")
    assert solved(True, person, [shut], most_places).opened == {}
    without = solved(False, person, [shut], most_places)
    assert "K1" in without.opened and without.placed == {("R1", "K1")}


def test_an_empty_focus_changes_nothing():
    person, newcomer = make_demand(current_cohort_id="O1"), make_demand(referral_id="R2", crn="X2")
    problem = tiny_problem([person, newcomer], [OUTSIDE, INSIDE], focus=frozenset())
    assert solve_model(problem, only(constraints=["focus", "one_cohort"], goal=prefer("O2"))).placed == {("R1", "O1")}
    assert solve_model(problem, only(constraints=["one_cohort"], goal=prefer("O2"))).placed == {("R1", "O2"),
                                                                                              ("R2", "O2")}
