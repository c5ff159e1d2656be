"""keep_published: a person told of a place on a running cohort is never dropped by a re-plan."""
from __future__ import annotations

from solver.build import Term
from solver.schema import CohortState
from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

LINKS = ["one_cohort", "max_size"]


def leave_everyone_out(b) -> Term:
    """Soft (test only): every place costs a point, so without a rule nobody is placed."""
    term = Term("leave_everyone_out", 1)
    for var in b.vars.x.values():
        term.add(1, var)
    return term


RULE = only(constraints=["keep_published", *LINKS], leave_everyone_out=leave_everyone_out)
WITHOUT = only(constraints=LINKS, leave_everyone_out=leave_everyone_out)


def placed(rules, held_state=CohortState.OPEN, max_size=8, holders=1):
    held = make_cohort(cohort_id="O1", state=held_state, max_size=max_size)
    demands = [make_demand(referral_id=f"R{i}", crn=f"X{i}", current_cohort_id="O1") for i in range(1, holders + 1)]
    return solve_model(tiny_problem(demands, [held, make_cohort(cohort_id="O2")]), rules)


def test_a_person_holding_a_running_cohort_place_keeps_a_place():
    outcome = placed(RULE)
    assert outcome.feasible and len(outcome.placed) == 1
    assert placed(WITHOUT).placed == set()


def test_a_person_holding_a_place_on_a_candidate_may_be_dropped():
    assert placed(RULE, held_state=CohortState.CANDIDATE).placed == set()


def test_an_over_committed_cohort_does_not_make_the_plan_impossible():
    outcome = placed(RULE, max_size=1, holders=2)
    assert outcome.feasible and outcome.placed == set()
