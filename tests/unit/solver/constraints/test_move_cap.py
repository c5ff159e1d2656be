"""move_cap: a person the plans have moved max_moves times keeps the running place they hold."""
from __future__ import annotations

from solver.build import Term
from solver.schema import CohortState
from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

LINKS = ["one_cohort", "max_size"]


def prefer_the_other_cohort(b) -> Term:
    """Soft (test only): a place on O2 is worth a point, one on O1 nothing — so without a rule people move."""
    term = Term("prefer_the_other_cohort", 1)
    for (rid, cid), var in b.vars.x.items():
        term.add(-1 if cid == "O2" else 0, var)
    return term


RULE = only(constraints=["move_cap", *LINKS], prefer_the_other_cohort=prefer_the_other_cohort)
WITHOUT = only(constraints=LINKS, prefer_the_other_cohort=prefer_the_other_cohort)


def outcome(rules, moves, max_moves=2, held_state=CohortState.OPEN, max_size=8, holders=1):
    held = make_cohort(cohort_id="O1", state=held_state, max_size=max_size)
    demands = [make_demand(referral_id=f"R{i}", crn=f"X{i}", current_cohort_id="O1", moves=moves)
               for i in range(1, holders + 1)]
    return solve_model(tiny_problem(demands, [held, make_cohort(cohort_id="O2")], max_moves=max_moves), rules)


def test_a_person_moved_max_moves_times_keeps_their_running_place():
    assert outcome(RULE, moves=2).placed == {("R1", "O1")}
    assert outcome(WITHOUT, moves=2).placed == {("R1", "O2")}


def test_a_person_moved_fewer_times_may_move_again():
    assert outcome(RULE, moves=1).placed == {("R1", "O2")}


def test_a_cap_of_zero_is_no_cap():
    assert outcome(RULE, moves=5, max_moves=0).placed == {("R1", "O2")}


def test_a_place_on_a_candidate_or_an_over_committed_cohort_is_not_held():
    assert outcome(RULE, moves=2, held_state=CohortState.CANDIDATE).placed == {("R1", "O2")}
    over = outcome(RULE, moves=2, max_size=1, holders=2)
    assert over.feasible and ("R1", "O1") not in over.placed and ("R2", "O1") not in over.placed
