"""underfill (tier 4): 5 points per empty place (max size less members less placed) in an opened candidate."""
from __future__ import annotations

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from tests.unit.solver.factories import make_candidate, make_cohort, make_problem, people, term_value, tiny_problem

# K1 has 6 places, one taken by a fixed member: 5 free. O1 is running: its empty places cost nothing.
COHORTS = [make_candidate(cohort_id="K1", max_size=6, members=("M1",), member_crns=("Y1",)),
           make_candidate(cohort_id="K2", max_size=4), make_cohort(cohort_id="O1", max_size=8)]
PROBLEM = tiny_problem(people(5), COHORTS)


def into(cohort_id: str, count: int) -> list[tuple[str, str]]:
    return [(f"R{i:02d}", cohort_id) for i in range(1, count + 1)]


@pytest.mark.parametrize("places, opened, points", [
    ([], [], 0), ([], ["K1"], 5 * 5), (into("K1", 2), ["K1"], 5 * 3), (into("K1", 5), ["K1"], 0),
    (into("K1", 2) + [("R03", "K2")], ["K1", "K2"], 5 * 3 + 5 * 3), (into("O1", 3), [], 0),
])
def test_each_empty_place_in_an_opened_candidate_costs_five_points(places, opened, points):
    assert term_value(PROBLEM, "underfill", places, opened) == points


def test_underfill_scores_in_tier_four():
    assert OBJECTIVES["underfill"](Build(make_problem())).tier == 4
