"""waits (tier 2): weeks from referral to start, each week past the wait target costing one more and each
week past a year one more again, doubled for HIGH risk; an unplaced person waits as if starting at the
horizon's end."""
from __future__ import annotations

from datetime import timedelta

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from solver.objectives.waits import wait_cost
from solver.schema import Params
from tests.unit.solver.factories import AS_OF, make_cohort, make_demand, make_problem, term_value, tiny_problem

WEEK, DAY = timedelta(weeks=1), timedelta(days=1)
REFERRED = AS_OF


@pytest.mark.parametrize("waited, risk, cost", [
    (0 * WEEK, "MEDIUM", 0), (18 * WEEK, "MEDIUM", 18), (19 * WEEK, "MEDIUM", 19 + 1),
    (52 * WEEK, "MEDIUM", 52 + 34), (53 * WEEK, "MEDIUM", 53 + 35 + 1), (19 * WEEK, "HIGH", 2 * (19 + 1)),
    (18 * WEEK + 3 * DAY, "LOW", 18), (18 * WEEK + 4 * DAY, "LOW", 19 + 1), (-3 * WEEK, "HIGH", 0),
])
def test_wait_cost_counts_rounded_weeks_costing_more_past_the_target_and_a_year(waited, risk, cost):
    demand = make_demand(referred_on=REFERRED, risk_band=risk)
    assert wait_cost(demand, REFERRED + waited, Params()) == cost


def test_wait_cost_reads_the_target_and_slope_step_from_the_params():
    demand = make_demand(referred_on=REFERRED)
    params = Params(wait_target_weeks=10, wait_slope_step=5)
    assert (wait_cost(demand, REFERRED + 10 * WEEK, params), wait_cost(demand, REFERRED + 11 * WEEK, params)) == (10, 16)


# A (MEDIUM) referred 10 weeks before the plan date; B (HIGH) 20 weeks before. O1 starts in 4 weeks and
# the default horizon ends 52 weeks after the plan date.
COHORT = make_cohort(cohort_id="O1", start_date=AS_OF + 4 * WEEK)
DEMANDS = [make_demand(referral_id="A", referred_on=AS_OF - 10 * WEEK),
           make_demand(referral_id="B", referred_on=AS_OF - 20 * WEEK, risk_band="HIGH")]
A_PLACED, A_UNPLACED = 14, 62 + 44 + 10
B_PLACED, B_UNPLACED = 2 * (24 + 6), 2 * (72 + 54 + 20)


@pytest.mark.parametrize("placed, total", [
    ((), A_UNPLACED + B_UNPLACED), (("A",), A_PLACED + B_UNPLACED), (("A", "B"), A_PLACED + B_PLACED),
])
def test_waits_sum_each_persons_cost_at_their_start_or_at_the_horizon_end(placed, total):
    places = [(rid, "O1") for rid in placed]
    assert term_value(tiny_problem(DEMANDS, [COHORT]), "waits", places) == total


def test_a_shorter_horizon_shortens_the_unplaced_wait():
    assert term_value(tiny_problem(DEMANDS[:1], [COHORT], horizon_weeks=26), "waits") == 36 + 18


def test_waits_score_in_tier_two():
    assert OBJECTIVES["waits"](Build(make_problem())).tier == 2


def test_the_cohort_a_person_holds_is_credited_the_move_threshold():
    holder = make_demand(referral_id="A", referred_on=AS_OF - 10 * WEEK, current_cohort_id="O1")
    other = make_cohort(cohort_id="O2", start_date=AS_OF + 4 * WEEK)
    problem = tiny_problem([holder], [COHORT, other], move_threshold_weeks=3)
    assert term_value(problem, "waits", [("A", "O1")]) == A_PLACED - 3
    assert term_value(problem, "waits", [("A", "O2")]) == A_PLACED


def test_past_the_target_the_move_threshold_is_worth_the_steeper_weeks():
    """Referred 30 weeks ago, holding O1 in 4 weeks: 34 weeks costs 34 + 16, 31 weeks costs 31 + 13."""
    holder = make_demand(referral_id="A", referred_on=AS_OF - 30 * WEEK, current_cohort_id="O1")
    problem = tiny_problem([holder], [COHORT], move_threshold_weeks=3)
    assert term_value(problem, "waits", [("A", "O1")]) == 31 + 13


def test_the_last_place_goes_to_the_person_already_past_the_target():
    """The convex cost cuts the tail: with one place, the 20-week waiter beats the 10-week one."""
    long_wait = make_demand(referral_id="A", crn="XA", referred_on=AS_OF - 20 * WEEK)
    short_wait = make_demand(referral_id="B", crn="XB", referred_on=AS_OF - 10 * WEEK)
    one_place = make_cohort(cohort_id="O1", start_date=AS_OF + WEEK, max_size=1)
    problem = tiny_problem([long_wait, short_wait], [one_place])
    assert term_value(problem, "waits", [("A", "O1")]) < term_value(problem, "waits", [("B", "O1")])


@pytest.mark.parametrize("equity_weight, risk, cost", [(0, "MEDIUM", 20), (2, "MEDIUM", 3 * 20), (3, "HIGH", 4 * 2 * 20)])
def test_a_person_of_a_trailing_group_waits_dearer_by_one_plus_their_equity_weight(equity_weight, risk, cost):
    demand = make_demand(referred_on=REFERRED, risk_band=risk, equity_weight=equity_weight)
    assert wait_cost(demand, REFERRED + 19 * WEEK, Params()) == cost
