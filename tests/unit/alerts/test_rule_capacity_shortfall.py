"""capacity.shortfall: facilitator hours needed over 12 weeks against trained capacity, per programme."""
from __future__ import annotations

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import capacity_shortfall as rule
from engine.domain.capacity import ProgrammeLoad
from tests.unit.alerts.factories import (PDU, REGION, TODAY, active, cohort, facilitator, inputs, only, referral,
                                         thresholds)

# One BC-M group: 12 places, two facilitators, 7 h each a week, 20 weeks of group sessions.
LOADS = {"BC-M": ProgrammeLoad(max_size=12, facilitators_per_group=2, facilitator_weekly_hours=7.0, group_weeks=20)}
ONE_GROUP_12_WEEKS = 2 * 7.0 * 12  # 168 h


def state(waiting: int = 3, staff_hours: tuple[float, ...] = (7.0,), running: int = 0, **overrides):
    referrals = [referral(referral_id=f"REF-{i}", crn=f"X{i:06d}") for i in range(waiting)]
    cohorts = [cohort(cohort_id=f"C{i}", status="STARTED", start_date=TODAY, members=8) for i in range(running)]
    staff = [facilitator(facilitator_id=f"F{i}", weekly_hours=h) for i, h in enumerate(staff_hours)]
    return inputs(referrals=referrals, cohorts=cohorts, facilitators=staff, programme_loads=LOADS, **overrides)


def test_raises_when_demand_exceeds_capacity_with_the_hours_behind_it():
    # Three waiting need one group: 168 h over 12 weeks; one facilitator at 7 h a week gives 84 h.
    alert = only(rule.evaluate(state(), thresholds()))
    assert (alert.kind, alert.subject_type, alert.subject_id, alert.region_code) == (
        "capacity.shortfall", "programme", "BC-M", REGION)
    assert alert.severity == Severity.CRITICAL  # 168 > 1.5 × 84
    assert alert.numbers == {"demand_hours": 150, "capacity_hours": 100, "weeks": 12}  # rounded to 50 h
    assert "168 facilitator hours needed" in alert.reason and "against 84 available" in alert.reason
    assert f"largest gap in {PDU}" in alert.reason and alert.pdu_code == PDU
    assert alert.act_by == TODAY and "X000000" not in alert.reason


def test_a_moderate_shortfall_is_a_warning():
    # 168 h needed against 12 h a week × 12 = 144 h: 17% short, under half as much again.
    alert = only(rule.evaluate(state(staff_hours=(12.0,)), thresholds()))
    assert alert.severity == Severity.WARNING


def test_quiet_when_capacity_covers_demand_or_the_gap_is_within_the_tolerance():
    assert rule.evaluate(state(staff_hours=(14.0,)), thresholds()) == []  # 168 h each way
    # 168 h needed against 13 h × 12 = 156 h: 7.7% short, inside the 10% tolerance.
    assert rule.evaluate(state(staff_hours=(13.0,)), thresholds()) == []
    assert rule.evaluate(state(staff_hours=(13.0,)), thresholds(capacity_shortfall_pct=5.0)) != []


def test_people_who_can_no_longer_finish_in_time_are_not_demand():
    late = [referral(referral_id=f"REF-{i}", latest_start=TODAY.replace(day=1)) for i in range(5)]
    assert rule.evaluate(inputs(referrals=late, facilitators=[facilitator(weekly_hours=1.0)],
                                programme_loads=LOADS), thresholds()) == []


def test_running_groups_count_as_committed_demand():
    alert = only(rule.evaluate(state(waiting=0, running=2, staff_hours=(7.0,)), thresholds()))
    assert "0 for the waiting list" in alert.reason and "for running groups" in alert.reason


def test_clears_when_staff_are_added_and_a_repeat_sweep_changes_nothing():
    short = state()
    alert = only(rule.evaluate(short, thresholds()))
    assert not reconcile(rule.evaluate(short, thresholds()), active(alert))
    staffed = state(staff_hours=(7.0, 7.0, 7.0))
    changes = reconcile(rule.evaluate(staffed, thresholds()), active(alert))
    assert [row["alert_id"] for row in changes.cleared] == ["capacity.shortfall:programme:BC-M"]
    assert rule.cleared(changes.cleared[0], staffed) == "demand within capacity over the forecast window"


def test_an_update_when_the_rounded_hours_change_not_for_a_few_hours_of_drift():
    alert = only(rule.evaluate(state(), thresholds()))
    drift = state(staff_hours=(7.5,))  # 90 h: still rounds to 100
    assert not reconcile(rule.evaluate(drift, thresholds()), active(alert))
    worse = state(waiting=15)  # two groups now: 336 h
    [(now, before)] = reconcile(rule.evaluate(worse, thresholds()), active(alert)).updated
    assert before["numbers"]["demand_hours"] == 150 and now.numbers["demand_hours"] == 350
