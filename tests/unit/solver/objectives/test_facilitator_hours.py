"""facilitator_hours (tier 4): weekly hours × load weeks for every facilitator on a new cohort."""
from __future__ import annotations

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from tests.unit.solver.factories import (
    make_candidate,
    make_cohort,
    make_demand,
    make_facilitator,
    make_problem,
    term_value,
    tiny_problem,
)

# K1: 7 h a week over 3 weeks = 21 per facilitator; K2: 3.3 h over 2 weeks = 6.6, rounded to 7.
COHORTS = [make_cohort(cohort_id="O1", facilitator_ids=("F1", "F2")),
           make_candidate(cohort_id="K1", facilitator_weekly_hours=7.0, group_weeks=3),
           make_candidate(cohort_id="K2", facilitator_weekly_hours=3.3, group_weeks=2)]
STAFF = [make_facilitator(facilitator_id=fid) for fid in ("F1", "F2", "F3")]
PROBLEM = tiny_problem([make_demand()], COHORTS, STAFF)


@pytest.mark.parametrize("staffed, hours", [
    ((), 0), ((("F1", "K1"),), 21), ((("F1", "K1"), ("F2", "K1")), 42),
    ((("F1", "K1"), ("F2", "K1"), ("F3", "K2")), 49),
])
def test_each_facilitator_on_a_new_cohort_costs_its_weekly_hours_times_its_load_weeks(staffed, hours):
    opened = {cid for _, cid in staffed}
    assert term_value(PROBLEM, "facilitator_hours", [("R1", "O1")], opened, staffed) == hours


def test_facilitator_hours_score_in_tier_four():
    assert OBJECTIVES["facilitator_hours"](Build(make_problem())).tier == 4
