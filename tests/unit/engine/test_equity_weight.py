"""The plan's equity weight: people of a group (sex, LDC) whose realised in-time share trails the region's weigh
more among the deadline misses, the share read as the report's equity section reads it."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.bootstrap import bootstrap
from engine.reports.data import ReferralFact
from engine.reports.equity import trailing_groups
from engine.services.problem import build_problem, realised_facts, weighted_for_equity
from engine.settings import EngineSettings
from solver import schema as s
from tests.support.events import cohort_planned, facilitator, person_with_referral
from tests.unit.engine.harness import Harness
from tests.unit.solver.factories import make_demand

AS_OF = date(2026, 3, 2)


def fact(n: int, sex: str = "MALE", ldc: bool = False, started: bool = True, ended: date = date(2026, 1, 1)):
    return ReferralFact(f"R{sex[0]}{int(ldc)}{n}", f"X{n}", "BC-M", "PROGRAMME_COMPLETE" if started else "WITHDRAWN",
                        date(2025, 1, 1), "P1", sex, "", ldc, ended, cohort_start=date(2025, 3, 1) if started else None)


def facts(men=(12, 12), women=(10, 5), ldc=(0, 0)):
    """(orders ended, of which started in time) per group; LDC people are men."""
    return ([fact(i, started=i < men[1]) for i in range(men[0])]
            + [fact(100 + i, "FEMALE", started=i < women[1]) for i in range(women[0])]
            + [fact(200 + i, ldc=True, started=i < ldc[1]) for i in range(ldc[0])])


def test_a_group_trailing_the_region_by_more_than_the_points_is_named():
    assert trailing_groups(facts(), AS_OF, 5.0) == {"sex": {"FEMALE"}}           # 50% against 77%
    assert trailing_groups(facts(women=(10, 9)), AS_OF, 6.0) == {}               # 90% against 95.5%: within 6 points
    assert trailing_groups(facts(women=(10, 9)), AS_OF, 5.0) == {"sex": {"FEMALE"}}
    assert trailing_groups(facts(ldc=(10, 2)), AS_OF, 5.0) == {"sex": {"FEMALE"}, "LDC": {"LDC"}}


def test_small_groups_orders_ended_outside_the_year_and_other_dimensions_are_not_named():
    assert trailing_groups(facts(women=(9, 0)), AS_OF, 5.0) == {}                # 9 orders ended: too few
    old = facts()[:12] + [fact(100 + i, "FEMALE", started=False, ended=date(2025, 2, 1)) for i in range(10)]
    assert trailing_groups(old, AS_OF, 5.0) == {}                                # ended more than 52 weeks ago
    assert trailing_groups(facts(ldc=(10, 2)), AS_OF, 5.0, dimensions=("LDC",)) == {"LDC": {"LDC"}}


def test_each_trailing_group_a_person_belongs_to_adds_the_weight():
    people = [make_demand(referral_id="M"), make_demand(referral_id="W", sex="FEMALE"),
              make_demand(referral_id="L", sex="FEMALE", ldc=True)]
    weighted = weighted_for_equity(people, {"sex": {"FEMALE"}, "LDC": {"LDC"}}, 2)
    assert [d.equity_weight for d in weighted] == [0, 2, 4]
    assert weighted_for_equity(people, {}, 2) == people


# Through the engine: ten men placed on a group that started, ten women with no group, all on twelve-month orders
# that ended before AS_OF; then one woman and one man wait.
T = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def h(store) -> Harness:
    h = Harness(store)
    h.feed(cohort_planned("C-MEN", date(2025, 2, 24)), facilitator("F1"), facilitator("F2"),
           *[line for i in range(10) for line in person_with_referral(f"M{i:06d}", at=T, months=12)],
           *[line for i in range(10) for line in person_with_referral(f"W{i:06d}", at=T, months=12, sex="FEMALE")])
    h.plan(date(2025, 2, 3))
    h.plan(date(2025, 3, 3))  # the men's group has started
    h.feed(*person_with_referral("W900000", at=T + timedelta(days=400), sex="FEMALE"),
           *person_with_referral("M900000", at=T + timedelta(days=400)))
    return h


def test_the_realised_share_is_read_from_the_state_and_weighs_the_trailing_group(h):
    with h.db.uow() as uow:
        read = realised_facts(uow, "RS", AS_OF, h.rules)
        assert len(read) == 20
        assert trailing_groups(read, AS_OF, 5.0) == {"sex": {"FEMALE"}}
        problem = build_problem(uow, "RS", AS_OF, h.rules, s.Params(equity_trailing_weight=3)).problem
        off = build_problem(uow, "RS", AS_OF, h.rules, s.Params()).problem
    weights = {d.sex: d.equity_weight for d in problem.demands}
    assert weights == {"FEMALE": 3, "MALE": 0}
    assert all(d.equity_weight == 0 for d in off.demands) and len(off.demands) == 2


def test_the_service_plans_with_the_settings_and_without_them_as_before(tmp_path):
    """What the worker, the replay, the API's jobs and the closed-loop bench plan with: the engine's ``params()``."""
    url = f"sqlite:///{tmp_path}/e.db"
    on = bootstrap(EngineSettings(database_url=url, equity_trailing_weight=2, equity_trailing_points=7.5,
                                  forecast_open_cost=1, forecast_move_cost=3), run_migrations=False).params()
    assert (on.equity_trailing_weight, on.equity_trailing_points, on.forecast_open_cost,
            on.forecast_move_cost) == (2, 7.5, 1, 3)
    off = bootstrap(EngineSettings(database_url=url), run_migrations=False).params()
    assert (off.equity_trailing_weight, off.forecast_open_cost, off.forecast_move_cost) == (0, 0, 0)
    defaults = s.Params()
    assert (off.equity_trailing_weight, off.equity_trailing_points, off.forecast_open_cost,
            off.forecast_move_cost) == (defaults.equity_trailing_weight, defaults.equity_trailing_points,
                                        defaults.forecast_open_cost, defaults.forecast_move_cost)  # off by default
