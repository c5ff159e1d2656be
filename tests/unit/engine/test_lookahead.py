"""Look-ahead for rare variants: a group too few wait for now opens when the arrival forecast makes up its minimum."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.domain.calendar import no_holidays
from engine.domain.model import CohortStatus, Office
from engine.domain.programmes import load_catalogue
from engine.services.candidates import Grid, grid_cohorts, lookahead_cohorts
from engine.services.planning import Planner
from engine.services.problem import build_problem
from solver import schema as s
from solver.model import CpSatAllocator
from tests.support.events import facilitator, person_with_referral
from tests.unit.engine.harness import Harness
from tests.unit.solver.factories import make_demand, make_facilitator

CATALOGUE = load_catalogue()
HUB = Office("HUB", "P1", rooms=1)
WOMEN = ("BC-M", "MODERATE", "GENERAL_OFFENCE", False, "FEMALE")
AS_OF = date(2025, 2, 3)  # a Monday
# Groups open at the programme's usual minimum only: four women are then a variant the grid offers nothing, the
# look-ahead's subject (by default the grid offers them groups at the hard minimum of four).
USUAL = {"rare_at_hard_minimum": False}


def women(n: int):
    return [make_demand(referral_id=f"W{i}", crn=f"Y{i}", programme_code="BC-M", sex="FEMALE") for i in range(n)]


def ahead(demands, arrivals, staff=None, **settings):
    grid = Grid(**({"lookahead_weeks": 26} | USUAL | settings))
    return lookahead_cohorts("RS", AS_OF, 52, demands, (HUB,), CATALOGUE, no_holidays, grid, arrivals, staff)


def test_a_forecast_makes_up_what_the_waiting_list_lacks_at_the_first_start_it_can():
    assert CATALOGUE.get("BC-M").min_size == 6
    offered = ahead(women(4), {WOMEN: 13})  # half a woman a week: two more expected by the fourth week
    assert offered and all(c.sex == "FEMALE" for c, _ in offered)
    assert all(n == 2 for _, n in offered)  # the plan must place the other four now
    cohort = min(offered, key=lambda x: x[0].start_date)[0]
    assert AS_OF + timedelta(weeks=4) <= cohort.start_date - timedelta(days=14) < AS_OF + timedelta(weeks=6)
    alone = grid_cohorts("RS", AS_OF, 52, women(4), (HUB,), CATALOGUE, no_holidays, Grid(**USUAL))
    assert alone == []  # the grid alone: none


def test_a_staffed_grid_offers_a_look_ahead_group_only_where_trained_facilitators_could_run_it():
    trained = [make_facilitator(facilitator_id=f"F{i}", programmes=frozenset({"BC-M"}), offices=frozenset({"HUB"}))
               for i in range(2)]
    assert ahead(women(4), {WOMEN: 13}, staff=trained, staffed=True)
    assert ahead(women(4), {WOMEN: 13}, staff=trained[:1], staffed=True) == []  # a group needs two
    assert ahead(women(4), {WOMEN: 13}, staff=[replace(f, programmes=frozenset({"BBR"})) for f in trained],
                 staffed=True) == []
    assert ahead(women(4), {WOMEN: 13}, staff=trained[:1])  # a grid not staffed is blind to them


def test_no_forecast_no_look_ahead_group():
    assert ahead(women(4), {}) == []
    assert ahead(women(4), {("BC-M", "MODERATE", "GENERAL_OFFENCE", False, "MALE"): 26}) == []


def test_the_forecast_never_makes_up_more_than_its_share_of_the_minimum():
    assert ahead(women(2), {WOMEN: 100}) == []  # four of six to come: too many to bet a group on
    assert ahead(women(3), {WOMEN: 100}) != []
    assert ahead(women(3), {WOMEN: 100}, lookahead_share=0.3) == []


def test_a_track_the_grid_offers_already_gets_no_look_ahead_group():
    assert grid_cohorts("RS", AS_OF, 52, women(6), (HUB,), CATALOGUE, no_holidays, Grid(**USUAL))
    assert ahead(women(6), {WOMEN: 13}) == []


# The same through the planner and CP-SAT: four women wait, all referred in the last four weeks.
T = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def h(store) -> Harness:
    h = Harness(store)
    h.feed(*[line for i in range(4) for line in person_with_referral(f"W{i:06d}", at=T, sex="FEMALE", months=12)],
           facilitator("F1"), facilitator("F2"))
    with h.db.uow() as uow:
        uow.save_offices("RS", [Office("RS-P01-O1", "RS-P01", rooms=1)])
        uow.commit()
    return h


def planner(h: Harness, grid: Grid) -> Planner:
    return Planner(h.db.uow, CpSatAllocator(), h.rules, s.Params(time_limit_s=5, workers=1), grid)


def test_the_plan_opens_the_rare_group_the_forecast_fills_and_reserves_its_facilitators(h):
    outcome = planner(h, Grid(lookahead_weeks=4, **USUAL)).plan("RS", date(2025, 2, 3))
    assert outcome.opened == 1 and outcome.made == 4
    cohort_id = outcome.plan.opened[0].cohort_id
    with h.db.uow() as uow:
        stored = uow.cohorts.get(cohort_id)
    assert stored.sex == "FEMALE" and stored.status == CohortStatus.CONFIRMED
    assert stored.min_size == 6 and set(stored.facilitator_ids) == {"F1", "F2"}  # its minimum stays the programme's


@pytest.mark.parametrize("grid, as_of", [(Grid(**USUAL), date(2025, 2, 3)),                    # look-ahead off
                                         (Grid(lookahead_weeks=4, **USUAL), date(2025, 3, 3))])  # no referral lately
def test_without_a_forecast_the_rare_group_does_not_open(h, grid, as_of):
    outcome = planner(h, grid).plan("RS", as_of)
    assert outcome.opened == 0 and outcome.made == 0
    assert {u.reason for u in outcome.plan.unallocated} <= {s.UnallocatedReason.NO_COMPATIBLE_COHORT,
                                                             s.UnallocatedReason.TOO_FEW_WAITING}
    assert replace(grid, lookahead_weeks=0) == Grid(**USUAL)


@pytest.mark.parametrize("months, opened", [(24, 0),   # nobody must start soon: opening saves no miss, so it costs
                                            (9, 1)])   # they must start within this plan: it saves 4 misses
def test_a_forecast_group_opens_only_where_it_saves_more_misses_than_its_cost(store, months, opened):
    h = Harness(store)
    h.feed(*[line for i in range(4) for line in person_with_referral(f"W{i:06d}", at=T, sex="FEMALE", months=months)],
           facilitator("F1"), facilitator("F2"))
    with h.db.uow() as uow:
        uow.save_offices("RS", [Office("RS-P01-O1", "RS-P01", rooms=1)])
        uow.commit()
    # evening groups once a week, so that a 9-month order must start within this plan: on twice-weekly groups
    # every candidate ends early enough for an order of 8 or 9 months to wait for a later plan (deferred, not a
    # miss), and for one of 7 months or less no group the forecast fills ends in time
    costly = Planner(h.db.uow, CpSatAllocator(), h.rules, s.Params(time_limit_s=5, workers=1, forecast_open_cost=1),
                     Grid(lookahead_weeks=4, evenings_per_week=1, **USUAL))
    outcome = costly.plan("RS", date(2025, 2, 3))
    assert (outcome.opened, outcome.made) == (opened, 4 * opened)


def test_a_track_the_grid_offers_at_the_hard_minimum_is_not_offered_again_on_the_forecast():
    offered = grid_cohorts("RS", AS_OF, 52, women(4), (HUB,), CATALOGUE, no_holidays, Grid())
    assert offered and {c.min_size for c in offered} == {4}  # by default four women make a group at the hard minimum
    assert ahead(women(4), {WOMEN: 13}, rare_at_hard_minimum=True) == []
    assert ahead(women(4), {WOMEN: 13})  # at the usual minimum the forecast makes up what they lack


def test_candidates_only_rare_every_step_offers_are_marked_extra_for_the_solver(h):
    """The problem marks as extra exactly what the grid offers beyond its budget, so the solver can plan without
    them first (solver.model._core_first)."""
    params = s.Params(time_limit_s=5, workers=1)
    with h.db.uow() as uow:
        usual = build_problem(uow, "RS", AS_OF, h.rules, params, Grid()).problem
        every = build_problem(uow, "RS", AS_OF, h.rules, params, Grid(rare_every_step=True)).problem
    assert not any(c.extra for c in usual.cohorts)
    extra = {c.cohort_id for c in every.cohorts if c.extra}
    assert extra and extra == {c.cohort_id for c in every.cohorts} - {c.cohort_id for c in usual.cohorts}
    assert {c.cohort_id for c in every.cohorts if not c.extra} == {c.cohort_id for c in usual.cohorts}
