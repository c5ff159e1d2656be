"""non_associations: non-associated people are never in the same group (a pair rule for fixed members,
a model constraint between waiting people)."""
from __future__ import annotations

import pytest

from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

PAIR_RULE, CONSTRAINT, WITHOUT = only(pair=["non_associations"]), only(constraints=["non_associations"]), only()
RUNNING = make_cohort(members=("M1",), member_crns=("Y1",))


# ---- the pair rule: a newcomer and the cohort's fixed members --------------------------------------

def test_newcomer_joins_a_cohort_whose_members_they_do_not_name():
    problem = tiny_problem([make_demand(non_associations=frozenset({"Y9"}))], [RUNNING])
    assert solve_model(problem, PAIR_RULE).placed == {("R1", "C1")}


def test_newcomer_never_joins_a_cohort_with_a_member_they_name():
    problem = tiny_problem([make_demand(non_associations=frozenset({"Y1"}))], [RUNNING])
    assert solve_model(problem, PAIR_RULE).placed == set()
    assert solve_model(problem, WITHOUT).placed == {("R1", "C1")}


def test_newcomer_never_joins_a_cohort_whose_fixed_member_names_them():
    """Issue 12, class 1: the member's own list counts too, not only the newcomer's."""
    naming_member = make_cohort(members=("M1",), member_crns=("Y1",), member_non_associations=frozenset({"X001"}))
    problem = tiny_problem([make_demand(crn="X001")], [naming_member])
    assert solve_model(problem, PAIR_RULE).placed == set()
    assert solve_model(problem, WITHOUT).placed == {("R1", "C1")}


# ---- the constraint: two waiting people ----------------------------------------------------------

def waiting_pair(a_names: frozenset[str] = frozenset(), b_names: frozenset[str] = frozenset()):
    return [make_demand(referral_id="A", crn="XA", non_associations=a_names),
            make_demand(referral_id="B", crn="XB", non_associations=b_names)]


def test_non_associated_people_both_get_places_in_different_cohorts():
    cohorts = [make_cohort(cohort_id="C1"), make_cohort(cohort_id="C2")]
    outcome = solve_model(tiny_problem(waiting_pair(frozenset({"XB"})), cohorts), CONSTRAINT)
    assert len(outcome.placed) == 2 and all(len(outcome.members(c.cohort_id)) == 1 for c in cohorts)


@pytest.mark.parametrize("pair", [waiting_pair(a_names=frozenset({"XB"})), waiting_pair(b_names=frozenset({"XA"}))],
                         ids=["first names second", "second names first"])
def test_non_associated_people_are_never_in_the_same_group_whichever_side_names_the_other(pair):
    problem = tiny_problem(pair, [make_cohort()])
    assert len(solve_model(problem, CONSTRAINT).members("C1")) == 1
    assert solve_model(problem, WITHOUT).members("C1") == {"A", "B"}


def test_people_who_name_nobody_in_the_problem_share_a_group():
    problem = tiny_problem(waiting_pair(a_names=frozenset({"X_ELSEWHERE"})), [make_cohort()])
    assert solve_model(problem, CONSTRAINT).members("C1") == {"A", "B"}
