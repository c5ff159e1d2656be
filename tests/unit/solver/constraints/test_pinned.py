"""pinned: a place inside the freeze window is not moved: the person keeps the cohort they hold."""
from __future__ import annotations

from datetime import timedelta

from solver.build import Term
from solver.schema import CohortState
from tests.unit.solver.factories import AS_OF, make_cohort, make_demand, only, solve_model, tiny_problem

LINKS = ["one_cohort"]  # a person holds one place, so moving means leaving


def prefer_o2(b) -> Term:
    """Soft (test only): a place in O2 is worth a point, anywhere else nothing."""
    term = Term("prefer_o2", 1)
    for (_, cid), var in b.vars.x.items():
        if cid == "O2":
            term.add(-1, var)
    return term


RULE = only(constraints=["pinned", *LINKS], prefer_o2=prefer_o2)
WITHOUT = only(constraints=LINKS, prefer_o2=prefer_o2)


def placed(rules, starts_in_days: int, state=CohortState.OPEN, **params) -> set[tuple[str, str]]:
    held = make_cohort(cohort_id="O1", start_date=AS_OF + timedelta(days=starts_in_days), state=state)
    other = make_cohort(cohort_id="O2", start_date=AS_OF + timedelta(days=21))
    problem = tiny_problem([make_demand(current_cohort_id="O1")], [held, other], **params)
    return solve_model(problem, rules).placed


def test_place_on_a_cohort_starting_after_the_freeze_window_may_move():
    assert placed(RULE, starts_in_days=15, freeze_days=14) == {("R1", "O2")}


def test_place_on_a_cohort_starting_on_the_last_day_of_the_freeze_window_never_moves():
    assert placed(RULE, starts_in_days=14, freeze_days=14) == {("R1", "O1")}
    assert placed(WITHOUT, starts_in_days=14, freeze_days=14) == {("R1", "O2")}


def test_a_longer_freeze_window_pins_a_later_start():
    assert placed(RULE, starts_in_days=15, freeze_days=30) == {("R1", "O1")}


def test_place_on_a_candidate_is_never_pinned():
    assert placed(RULE, starts_in_days=7, state=CohortState.CANDIDATE, freeze_days=14) == {("R1", "O2")}


def test_an_over_committed_frozen_cohort_does_not_make_the_plan_impossible():
    held = make_cohort(cohort_id="O1", start_date=AS_OF + timedelta(days=7), max_size=1)
    holders = [make_demand(referral_id=f"R{i}", crn=f"X{i}", current_cohort_id="O1") for i in (1, 2)]
    outcome = solve_model(tiny_problem(holders, [held], freeze_days=14), only(constraints=["pinned", "max_size"]))
    assert outcome.feasible and len(outcome.placed) == 1  # most_places fills the one place, nobody is forced
