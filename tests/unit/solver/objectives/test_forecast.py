"""forecast (tier 1): each cohort offered on a forecast (forecast_joiners > 0) that the plan opens costs
forecast_open_cost, and each person placed in one off a place they hold costs forecast_move_cost."""
from __future__ import annotations

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from solver.schema import CohortState
from tests.unit.solver.factories import make_candidate, make_cohort, make_demand, make_problem, term_value, tiny_problem

AHEAD = make_candidate(cohort_id="K1", min_size=1, forecast_joiners=2)   # offered on the forecast
GRID = make_candidate(cohort_id="K2", min_size=1)                        # offered for those waiting now
HELD = make_cohort(cohort_id="O1")                                       # a running group
DEMANDS = [make_demand(referral_id="A", crn="XA", current_cohort_id="O1"),   # holds a published place
           make_demand(referral_id="B", crn="XB"),                           # holds nothing
           make_demand(referral_id="C", crn="XC", current_cohort_id="K1")]   # holds a place in it already
COSTS = dict(forecast_open_cost=5, forecast_move_cost=3)


def _problem(**params):
    return tiny_problem(DEMANDS, [AHEAD, GRID, HELD], **(COSTS | params))


@pytest.mark.parametrize("places, opened, cost", [
    ([], [], 0),
    ([("B", "K1")], ["K1"], 5),                                   # opened on the forecast
    ([("B", "K2")], ["K2"], 0),                                   # the grid's cohort costs nothing here
    ([("A", "K1"), ("B", "K1")], ["K1"], 5 + 3),                  # and someone pulled off their place
    ([("A", "K2")], ["K2"], 0),                                   # moved, but not into a forecast group
    ([("C", "K1")], ["K1"], 5),                                   # keeping the place it holds is no move
    ([("A", "O1"), ("B", "K1"), ("C", "K1")], ["K1"], 5),
])
def test_opening_on_the_forecast_and_moving_a_holder_into_it_cost(places, opened, cost):
    assert term_value(_problem(), "forecast", places, opened) == cost


@pytest.mark.parametrize("params, cost", [(dict(forecast_open_cost=0), 3), (dict(forecast_move_cost=0), 5),
                                          (dict(forecast_open_cost=0, forecast_move_cost=0), 0)])
def test_each_cost_is_its_own_setting_and_both_are_off_by_default(params, cost):
    assert term_value(_problem(**params), "forecast", [("A", "K1")], ["K1"]) == cost
    assert term_value(tiny_problem(DEMANDS, [AHEAD, GRID, HELD]), "forecast", [("A", "K1")], ["K1"]) == 0


def test_forecast_costs_score_in_tier_one_beside_the_misses_they_trade_against():
    assert OBJECTIVES["forecast"](Build(make_problem())).tier == 1
    assert make_candidate().forecast_joiners == 0 and HELD.state == CohortState.OPEN
