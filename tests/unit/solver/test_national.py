"""Regions solve independently; a person who can reach a neighbouring region's office gets its free place."""
from __future__ import annotations

from dataclasses import replace

from solver.check import check_plan
from solver.national import BOUNDARY, boundary_problem, solve_national
from tests.unit.solver.factories import make_cohort, make_demand, make_facilitator, make_office, make_problem


def region(code: str, demands, cohorts):
    problem = make_problem(demands, cohorts, [make_facilitator(facilitator_id=f"{code}-F1", offices=frozenset())],
                           [make_office(office_code=f"{code}-OFF", pdu_code=f"{code}-P")])
    return replace(problem, region_code=code)


def test_a_person_unplaced_at_home_takes_a_free_place_over_the_border():
    full_home = make_cohort(cohort_id="A-C1", office_code="A-OFF", max_size=1, members=("A-M",), member_crns=("Y",))
    roomy_away = make_cohort(cohort_id="B-C1", office_code="B-OFF", max_size=4)
    mover = make_demand(referral_id="A-R1", crn="X1", reachable_offices=frozenset({"A-OFF", "B-OFF"}))
    local = make_demand(referral_id="B-R1", crn="X2")
    problems = [region("A", [mover], [full_home]), region("B", [local], [roomy_away])]
    plans = solve_national(problems, workers=1)
    assert [p.region_code for p in plans] == ["A", "B", BOUNDARY]
    assert plans[0].cohort_of("A-R1") is None
    assert plans[1].cohort_of("B-R1") == "B-C1"
    assert plans[2].cohort_of("A-R1") == "B-C1"
    boundary = boundary_problem(problems, plans[:2])
    assert check_plan(boundary, plans[2]) == []
    assert next(c for c in boundary.cohorts if c.cohort_id == "B-C1").members == ("B-R1",)


def test_no_boundary_pass_when_nobody_can_cross():
    problems = [region("A", [make_demand(referral_id="A-R1")], [make_cohort(cohort_id="A-C1")]),
                region("B", [make_demand(referral_id="B-R1", crn="X2")], [make_cohort(cohort_id="B-C1")])]
    plans = solve_national(problems, workers=2)
    assert [p.region_code for p in plans] == ["A", "B"]
    assert all(check_plan(prob, plan) == [] for prob, plan in zip(problems, plans))
