"""travel (tier 4): 2 points per person placed in a cohort of another PDU than their own."""
from __future__ import annotations

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from tests.unit.solver.factories import make_cohort, make_demand, make_problem, term_value, tiny_problem

COHORTS = [make_cohort(cohort_id="HOME", pdu_code="PDU1"), make_cohort(cohort_id="AWAY", pdu_code="PDU2")]
DEMANDS = [make_demand(referral_id="A", crn="XA", pdu_code="PDU1"),
           make_demand(referral_id="B", crn="XB", pdu_code="PDU2"),
           make_demand(referral_id="C", crn="XC", pdu_code="")]  # home PDU unknown: never counted
PROBLEM = tiny_problem(DEMANDS, COHORTS)


@pytest.mark.parametrize("places, points", [
    ([], 0), ([("A", "HOME"), ("B", "AWAY")], 0), ([("A", "AWAY")], 2),
    ([("A", "AWAY"), ("B", "HOME")], 4), ([("C", "HOME")], 0), ([("C", "AWAY")], 0),
])
def test_each_person_placed_outside_their_pdu_costs_two_points(places, points):
    assert term_value(PROBLEM, "travel", places) == points


def test_travel_scores_in_tier_four():
    assert OBJECTIVES["travel"](Build(make_problem())).tier == 4
