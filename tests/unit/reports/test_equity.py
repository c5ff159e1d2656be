"""Equity breakdowns: groups whose miss rate or wait differs are flagged; small groups are said to be small."""
from __future__ import annotations

from datetime import timedelta

from engine.reports import equity as eq
from tests.unit.reports.factories import AS_OF, make_data, make_referral, placed

W = timedelta(weeks=1)


def missing(n: int, **overrides):
    """Waiting with a last finish date next week: a forecast miss."""
    return make_referral(n, deadline=AS_OF + 3 * W, latest_start=None, **overrides)


def fine(n: int, **overrides):
    return make_referral(n, **overrides)


def started(n: int, wait_weeks: int, **overrides):
    return placed(n, start=AS_OF - W, referred_on=AS_OF - (wait_weeks + 1) * W, **overrides)


def row(rows, dimension: str, group: str) -> dict:
    return next(r for r in rows if r["dimension"] == dimension and r["group"] == group)


def test_a_group_missing_far_more_often_than_the_region_is_flagged():
    women = [missing(n, sex="FEMALE") for n in range(1, 6)] + [fine(n, sex="FEMALE") for n in range(6, 16)]
    men = [missing(100)] + [fine(n) for n in range(101, 150)]
    rows = eq.equity(make_data(women + men))
    overall = row(rows, "all", "all")
    assert (overall["open_referrals"], overall["forecast_misses_26w"], overall["miss_rate_pct"]) == (65, 6, 9.2)
    female = row(rows, "sex", "FEMALE")
    assert (female["open_referrals"], female["forecast_misses_26w"], female["miss_rate_pct"]) == (15, 5, 33.3)
    assert female["miss_rate_diff_points"] == 24.1 and eq.flagged(female)
    assert "miss rate +24.1 points" in female["assessment"]
    assert not eq.flagged(row(rows, "sex", "MALE"))


def test_a_group_waiting_much_longer_than_the_region_is_flagged_on_its_median_wait():
    ldc = [started(n, 20, ldc=True) for n in range(1, 11)]
    others = [started(n, 10) for n in range(11, 41)]
    rows = eq.equity(make_data(ldc + others))
    assert row(rows, "all", "all")["median_wait_weeks"] == 10.0
    flagged = row(rows, "LDC", "LDC")
    assert flagged["starts_26w"] == 10 and flagged["wait_diff_weeks"] == 10.0 and eq.flagged(flagged)
    assert "median wait +10.0 weeks" in flagged["assessment"]


def test_a_group_of_fewer_than_ten_is_not_compared_but_said_to_be_small():
    few = [missing(n, ethnicity_group="MIXED") for n in range(1, 5)]
    many = [fine(n) for n in range(10, 60)]
    rows = eq.equity(make_data(few + many))
    small = row(rows, "ethnicity group", "MIXED")
    assert small["miss_rate_pct"] == 100.0 and small["miss_rate_diff_points"] is None
    assert not eq.flagged(small) and eq.small(small)
    assert "too few open referrals to compare miss rate (n=4 < 10)" in small["assessment"]


def test_every_dimension_is_broken_down_and_groups_add_up_to_the_region():
    facts = [missing(n, pdu_code=f"P{n % 3}", ethnicity_group=["ASIAN", "BLACK", "WHITE"][n % 3], ldc=n % 2 == 0,
                     sex="FEMALE" if n % 4 == 0 else "MALE") for n in range(1, 40)]
    rows = eq.equity(make_data(facts))
    assert {r["dimension"] for r in rows} == {"all", "sex", "ethnicity group", "LDC", "PDU"}
    for dimension in ("sex", "ethnicity group", "LDC", "PDU"):
        parts = [r for r in rows if r["dimension"] == dimension]
        assert sum(r["open_referrals"] for r in parts) == 39
        assert sum(r["forecast_misses_26w"] for r in parts) == row(rows, "all", "all")["forecast_misses_26w"]


# what already happened: orders ended in the last 52 weeks that started in time -------------------------

def ended(n: int, started: bool, weeks_ago: int = 10, **overrides):
    """An order that ended ``weeks_ago`` weeks ago, started in time on a cohort or not at all."""
    deadline = AS_OF - weeks_ago * W
    if started:
        return placed(n, start=deadline - 20 * W, deadline=deadline, **overrides)
    return make_referral(n, deadline=deadline, latest_start=None, **overrides)


def test_a_group_whose_orders_started_in_time_far_less_often_than_the_regions_is_flagged_with_its_trend():
    women = [ended(n, n <= 3, sex="FEMALE") for n in range(1, 13)]                 # 3 of 12 started: 25%
    women += [ended(n, n <= 20, weeks_ago=60, sex="FEMALE") for n in range(13, 23)]  # a year before: 8 of 10
    men = [ended(n, n < 171) for n in range(100, 200)]                          # 71 of 100
    rows = eq.equity(make_data(women + men))
    overall, female = row(rows, "all", "all"), row(rows, "sex", "FEMALE")
    assert (overall["orders_ended_52w"], overall["started_in_time_pct"]) == (112, 66.1)
    assert (female["orders_ended_52w"], female["started_in_time_pct"], female["started_year_before_pct"]) == (12, 25.0, 80.0)
    assert female["started_trend_points"] == -55.0 and female["started_diff_points"] == -41.1
    assert eq.flagged(female) and "started in time -41.1 points" in female["assessment"]
    assert not eq.flagged(row(rows, "sex", "MALE"))


def test_orders_cut_short_do_not_count_and_a_group_with_few_ended_orders_is_only_said_to_be_small():
    cut_short = [ended(n, False, requirement_status="TERMINATED", status="WITHDRAWN", ldc=True) for n in range(1, 30)]
    few = [ended(n, False, ldc=True) for n in range(30, 35)]
    rows = eq.equity(make_data(cut_short + few + [ended(n, True) for n in range(100, 130)]))
    ldc = row(rows, "LDC", "LDC")
    assert ldc["orders_ended_52w"] == 5 and ldc["started_in_time_pct"] == 0.0
    assert not eq.flagged(ldc) and "too few orders ended to compare starts in time (n=5 < 10)" in ldc["assessment"]


def test_a_group_doing_better_than_the_region_is_not_flagged():
    rows = eq.equity(make_data([ended(n, True, pdu_code="P2") for n in range(1, 12)]
                               + [ended(n, n % 2 == 0) for n in range(100, 140)]))
    assert row(rows, "PDU", "P2")["started_diff_points"] > 10 and not eq.flagged(row(rows, "PDU", "P2"))
