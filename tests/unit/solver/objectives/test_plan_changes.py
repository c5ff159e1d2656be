"""plan_changes (tier 3): people moved off or removed from the cohort they hold: 3 for a published
(OPEN) cohort, 1 for a draft (CANDIDATE) one."""
from __future__ import annotations

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from solver.schema import CohortState
from tests.unit.solver.factories import make_cohort, make_demand, make_problem, term_value, tiny_problem

COHORTS = [make_cohort(cohort_id="O1"), make_cohort(cohort_id="O2"),
           make_cohort(cohort_id="K1", state=CohortState.CANDIDATE)]
DEMANDS = [make_demand(referral_id="A", crn="XA", current_cohort_id="O1"),
           make_demand(referral_id="B", crn="XB", current_cohort_id="K1"),
           make_demand(referral_id="C", crn="XC"),
           make_demand(referral_id="D", crn="XD", current_cohort_id="GONE")]
PROBLEM = tiny_problem(DEMANDS, COHORTS)


@pytest.mark.parametrize("places, changes", [
    ([("A", "O1"), ("B", "K1")], 0),
    ([("A", "O2"), ("B", "K1")], 3),
    ([("A", "O1")], 1),
    ([("A", "K1"), ("B", "O2")], 3 + 1),
    ([], 3 + 1),
    ([("A", "O1"), ("B", "K1"), ("C", "O2"), ("D", "O1")], 0),
])
def test_each_person_moved_or_removed_costs_the_publicity_of_the_cohort_they_held(places, changes):
    opened = ["K1"] if any(cid == "K1" for _, cid in places) else []
    assert term_value(PROBLEM, "plan_changes", places, opened) == changes


def test_plan_changes_score_in_tier_three():
    assert OBJECTIVES["plan_changes"](Build(make_problem())).tier == 3
