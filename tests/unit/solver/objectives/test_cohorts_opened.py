"""cohorts_opened (tier 4): 50 points per candidate the plan opens; running cohorts cost nothing."""
from __future__ import annotations

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from tests.unit.solver.factories import make_candidate, make_cohort, make_demand, make_problem, term_value, tiny_problem

PROBLEM = tiny_problem([make_demand()], [make_cohort(cohort_id="O1"), make_candidate(cohort_id="K1"),
                                         make_candidate(cohort_id="K2")])


@pytest.mark.parametrize("opened, cost", [((), 0), (("K1",), 50), (("K1", "K2"), 100)])
def test_each_opened_candidate_costs_fifty_points(opened, cost):
    assert term_value(PROBLEM, "cohorts_opened", [("R1", "O1")], opened) == cost


def test_a_candidate_nobody_can_join_has_nothing_to_open():
    problem = tiny_problem([make_demand(programme_code="HSP")], [make_candidate(cohort_id="K1")])
    assert term_value(problem, "cohorts_opened", pair=["programme"]) == 0


def test_cohorts_opened_score_in_tier_four():
    assert OBJECTIVES["cohorts_opened"](Build(make_problem())).tier == 4
