"""The report's pure sections on hand-built facts: each definition a planner relies on, one test each."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from engine.reports import sections as sec
from tests.unit.reports.factories import AS_OF, MONDAY, make_cohort, make_data, make_facilitator, make_referral, placed

W = timedelta(weeks=1)


def test_waiting_list_counts_by_programme_and_pdu_with_at_risk_and_past_deadline():
    data = make_data([
        make_referral(1),                                                           # plenty of time
        make_referral(2, latest_start=AS_OF + 8 * W),                               # at risk: within 8 weeks
        make_referral(3, latest_start=None),                                        # no start left in time
        make_referral(4, deadline=AS_OF, latest_start=None),                        # deadline passed
        make_referral(5, pdu_code="P2", programme_code="DIDP"),
        make_referral(6, status="AWAITING_ASSESSMENT", latest_start=None),          # not on the waiting list
        placed(7),
    ])
    w = sec.waiting_list(data)
    assert w["by_programme"] == [dict(programme="BC-M", waiting=4, at_risk=1, cannot_finish=1, past_deadline=1),
                                 dict(programme="DIDP", waiting=1, at_risk=0, cannot_finish=0, past_deadline=0)]
    assert [r["pdu"] for r in w["by_pdu"]] == ["P1", "P2"]
    assert [r["referral_id"] for r in w["at_risk"]] == ["R2"]  # the deadline.at_risk rule: a start still ahead
    assert w["at_risk"][0]["weeks_to_latest_start"] == 8.0 and w["at_risk"][0]["crn"] == "X000002"
    assert sec.cannot_finish(data.referrals[2], AS_OF) and not sec.cannot_finish(data.referrals[3], AS_OF)
    assert sec.at_risk(data.referrals[1], AS_OF, 8) and not sec.at_risk(data.referrals[1], AS_OF, 7)


def test_a_latest_start_just_over_8_weeks_away_is_not_at_risk():
    assert not sec.at_risk(make_referral(latest_start=AS_OF + 8 * W + timedelta(days=1)), AS_OF, 8)


def test_waits_run_from_referral_to_start_for_those_who_started_in_the_last_26_weeks():
    started = [placed(n, start=AS_OF - k * W, referred_on=AS_OF - (k + wait) * W)
               for n, (k, wait) in enumerate([(0, 10), (1, 20), (1, 30), (25, 5), (26, 99)], start=1)]
    w = sec.waits(make_data(started + [placed(9, start=AS_OF + W)]))
    assert w["starts"] == 4  # 26 weeks back from this Monday is out of the window; the future start too
    assert w["median_wait_weeks"] == 15.0
    trend = {r["week_start"]: r for r in w["trend"]}
    assert len(trend) == 26 and min(trend) == MONDAY - 25 * W and max(trend) == MONDAY
    assert trend[MONDAY - W]["starts"] == 2 and trend[MONDAY - W]["median_wait_weeks"] == 25.0
    assert trend[MONDAY - 2 * W]["starts"] == 0 and trend[MONDAY - 2 * W]["median_wait_weeks"] is None
    assert trend[MONDAY]["rolling_4w_starts"] == 3 and trend[MONDAY]["rolling_4w_median_wait_weeks"] == 20.0


def test_a_first_on_programme_date_counts_as_a_start_without_a_place():
    w = sec.waits(make_data([make_referral(status="ON_PROGRAMME", started_on=AS_OF - W, referred_on=AS_OF - 5 * W)]))
    assert w["starts"] == 1 and w["median_wait_weeks"] == 4.0


def test_forecast_starts_come_from_current_places_on_cohorts_starting_after_as_of():
    rows = sec.forecast(make_data([placed(1, start=AS_OF + 2 * W + timedelta(days=2)), placed(2, start=AS_OF),
                                   placed(3, start=AS_OF + 30 * W)]))
    assert len(rows) == 26 and rows[0]["week_start"] == MONDAY
    assert [r["starts"] for r in rows if r["starts"]] == [1] and rows[2]["starts"] == 1


def test_forecast_misses_fall_in_the_week_of_the_last_finish_date_or_this_week_if_it_has_gone():
    margin = timedelta(days=14)
    data = make_data([
        make_referral(1, deadline=AS_OF + 5 * W + margin, latest_start=None),              # week 5
        make_referral(2, deadline=AS_OF + timedelta(days=3), latest_start=None),            # finish-by gone: week 0
        make_referral(3, status="SUITABLE_NOT_READY", deadline=AS_OF + 7 * W + margin),     # week 7, not yet waiting
        placed(4, start=AS_OF + W, end=AS_OF + 12 * W, deadline=AS_OF + 10 * W),            # cohort ends too late
        placed(5, start=AS_OF + W, end=AS_OF + 12 * W, deadline=AS_OF + 14 * W),            # finishes in time
        make_referral(6, deadline=AS_OF + 26 * W + margin),                                 # beyond the window
        make_referral(7, deadline=AS_OF, latest_start=None),                                # already missed
        make_referral(8, status="WITHDRAWN", deadline=AS_OF + 2 * W),                       # closed
    ])
    rows = sec.forecast(data)
    misses = {k: (r["misses_waiting"], r["misses_not_yet_waiting"], r["misses_placed_late"])
              for k, r in enumerate(rows) if r["misses"]}
    assert misses == {0: (1, 0, 0), 5: (1, 0, 0), 7: (0, 1, 0), 10: (0, 0, 1)}
    assert sum(r["misses"] for r in rows) == 4


def test_capacity_compares_hours_needed_with_hours_available_per_programme_and_week():
    data = make_data([make_referral(n) for n in range(1, 14)], [make_cohort(group_start=AS_OF, group_weeks=2)],
                     [make_facilitator(weekly_hours=30.0)])
    c = sec.capacity(data)
    assert c["weekly"][0] == dict(week_start=MONDAY, demand_hours=42.0, waiting_hours=28.0, committed_hours=14.0,
                                  capacity_hours=30.0, gap_hours=-12.0)
    # 13 weeks x 28 h for the two new groups, 2 x 14 h committed; 26 x 30 h available
    assert (c["demand_hours"], c["capacity_hours"]) == (13 * 28 + 28, 26 * 30)
    assert c["shortfall_hours"] == 24.0  # 12 h short in each of the two weeks the live cohort runs too
    assert c["shortfall_fte"] == round(24 / (26 * 31.5), 1)
    assert c["by_programme"][0]["short_weeks_26w"] == 2


def test_cohort_fill_lists_live_cohorts_not_yet_ended_with_their_size_against_min_and_max():
    data = make_data(cohorts=[
        make_cohort("A", members=4), make_cohort("B", members=12, status="STARTED", start_date=AS_OF - 3 * W),
        make_cohort("C", status="PROPOSED"), make_cohort("D", status="STARTED", end_date=AS_OF - timedelta(days=1)),
    ])
    rows = sec.cohort_fill(data)
    assert [(r["cohort_id"], r["note"], r["free_places"]) for r in rows] == [
        ("B", "full", 0), ("A", "below minimum: 2 more needed", 8)]
    assert rows[0]["started"] and not rows[1]["started"]


def test_cohorts_to_open_are_the_plans_proposals_that_have_not_started():
    data = make_data(cohorts=[make_cohort("P1", origin="PLAN"), make_cohort("P2", origin="PLAN", status="PROPOSED"),
                              make_cohort("D1"), make_cohort("P3", origin="PLAN", start_date=AS_OF, status="STARTED")])
    assert [r["cohort_id"] for r in sec.cohorts_to_open(data)] == ["P1", "P2"]
    assert sec.cohorts_to_open(data)[0]["facilitator_ids"] == "F1 F2"


def test_utilisation_rows_name_facilitators_by_id_only():
    data = make_data(cohorts=[make_cohort(group_start=AS_OF, group_weeks=20)],
                     facilitators=[make_facilitator("F1", weekly_hours=10.0), make_facilitator("F9")])
    rows = {r["facilitator_id"]: r for r in sec.utilisation(data)}
    assert rows["F1"]["committed_hours_12w"] == 84.0 and rows["F1"]["utilisation_pct"] == 70.0
    assert rows["F9"]["committed_hours_12w"] == 0.0 and rows["F9"]["note"] == ""
    assert set(rows["F1"]) == {"facilitator_id", "home_pdu", "programmes", "contracted_hours_12w",
                               "available_hours_12w", "committed_hours_12w", "utilisation_pct", "note"}


# 8. Alerts by kind and workflow state ---------------------------------------------------------------
def test_alerts_are_counted_by_kind_open_against_acknowledged():
    data = replace(make_data(), alerts=(
        ("deadline.missed", "OPEN"), ("deadline.missed", "ASSIGNED"), ("deadline.missed", "ACKNOWLEDGED"),
        ("deadline.missed", "SNOOZED"), ("deadline.missed", "RESOLVED"), ("cohort.below_minimum", "ACKNOWLEDGED")))
    assert sec.alerts_by_kind(data) == [
        dict(kind="cohort.below_minimum", open=0, assigned=0, acknowledged=1, snoozed=0, resolved=0),
        dict(kind="deadline.missed", open=2, assigned=1, acknowledged=2, snoozed=1, resolved=1)]
    assert sec.alerts_by_kind(make_data()) == []
