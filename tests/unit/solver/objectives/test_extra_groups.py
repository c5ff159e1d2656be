"""extra_groups (tier 1): each cohort offered beyond the grid's budget (CohortOption.extra) that the plan opens
costs extra_open_cost; the grid's own candidates and running groups cost nothing."""
from __future__ import annotations

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from solver.schema import Params
from tests.unit.solver.factories import make_candidate, make_cohort, make_demand, make_problem, term_value, tiny_problem

EXTRA = make_candidate(cohort_id="K1", min_size=1, extra=True)   # offered beyond the grid's budget
GRID = make_candidate(cohort_id="K2", min_size=1)                # the grid's own
HELD = make_cohort(cohort_id="O1")                               # a running group
DEMANDS = [make_demand(referral_id="A", crn="XA"), make_demand(referral_id="B", crn="XB")]


@pytest.mark.parametrize("places, opened, cost", [
    ([], [], 0),
    ([("A", "K1")], ["K1"], 4),
    ([("A", "K1"), ("B", "K1")], ["K1"], 4),        # per group opened, not per person
    ([("A", "K2")], ["K2"], 0),
    ([("A", "O1")], [], 0),
    ([("A", "K1"), ("B", "K2")], ["K1", "K2"], 4),
])
def test_opening_a_group_offered_beyond_the_budget_costs(places, opened, cost):
    problem = tiny_problem(DEMANDS, [EXTRA, GRID, HELD], extra_open_cost=4)
    assert term_value(problem, "extra_groups", places, opened) == cost


def test_it_is_off_by_default_and_scores_in_tier_one():
    assert Params().extra_open_cost == 0
    assert Params().extra_move_cost == 0
    assert term_value(tiny_problem(DEMANDS, [EXTRA, GRID, HELD]), "extra_groups", [("A", "K1")], ["K1"]) == 0
    assert OBJECTIVES["extra_groups"](Build(make_problem())).tier == 1


MOVERS = [make_demand(referral_id="A", crn="XA", current_cohort_id="O1"),   # holds a published place
          make_demand(referral_id="B", crn="XB"),                           # holds nothing
          make_demand(referral_id="C", crn="XC", current_cohort_id="K1")]   # holds a place in the extra group


@pytest.mark.parametrize("places, opened, cost", [
    ([("A", "K1")], ["K1"], 3),                     # pulled off a place into an extra group
    ([("B", "K1")], ["K1"], 0),                     # held nothing
    ([("C", "K1")], ["K1"], 0),                     # keeps the place it holds
    ([("A", "K2")], ["K2"], 0),                     # moved, but into the grid's own group
    ([("A", "K1"), ("B", "K1"), ("C", "K1")], ["K1"], 3),
])
def test_moving_a_holder_into_a_group_offered_beyond_the_budget_costs(places, opened, cost):
    problem = tiny_problem(MOVERS, [EXTRA, GRID, HELD], extra_move_cost=3)
    assert term_value(problem, "extra_groups", places, opened) == cost
