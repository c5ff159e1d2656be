"""facilitator.overbooked: booked beyond contracted hours in some week ahead, or on two clashing groups."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import facilitator_overbooked as rule
from tests.unit.alerts.factories import (
    PDU,
    REGION,
    TODAY,
    active,
    cohort,
    facilitator,
    inputs,
    only,
    thresholds,
)

RUNNING_FROM, RUNNING_TO = date(2025, 2, 3), date(2025, 6, 23)
NEXT_START, NEXT_END = date(2025, 3, 17), date(2025, 7, 28)


def running(**overrides):
    """C1: a running Monday-morning group with F1."""
    return cohort(**{"cohort_id": "C1", "status": "STARTED", "start_date": RUNNING_FROM, "end_date": RUNNING_TO,
                     "facilitator_ids": ("F1",), "weekly_hours": 7.5, "slots": ((0, "10:00", "DAYTIME"),),
                     **overrides})


def upcoming(**overrides):
    """C2: a proposed Tuesday-morning group with F1, from 2025-03-17."""
    return cohort(**{"cohort_id": "C2", "status": "PROPOSED", "start_date": NEXT_START, "end_date": NEXT_END,
                     "facilitator_ids": ("F1",), "weekly_hours": 7.5, "slots": ((1, "10:00", "DAYTIME"),),
                     **overrides})


def evaluate(cohorts, facilitators, **kw):
    return rule.evaluate(inputs(cohorts=cohorts, facilitators=facilitators, **kw), thresholds())


def test_raises_a_warning_for_hours_over_contract():
    alert = only(evaluate([running(), upcoming()], [facilitator(weekly_hours=10)]))
    assert alert.kind == "facilitator.overbooked" == rule.KIND
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("facilitator", "F1", REGION)
    assert (alert.pdu_code, alert.key) == (PDU, "F1")
    assert alert.act_by == NEXT_START  # the first week over
    assert (alert.numbers["peak_hours"], alert.numbers["contracted_hours"], alert.numbers["clashes"]) == (15.0, 10, 0)
    assert alert.reason == ("15 h booked in the week of 2025-03-17 against 10 h contracted "
                            "(over from 2025-03-17)")


def test_quiet_with_hours_exactly_at_contract():
    assert evaluate([running(), upcoming()], [facilitator(weekly_hours=15)]) == []
    assert only(evaluate([running(), upcoming()], [facilitator(weekly_hours=14.5)])).numbers["peak_hours"] == 15.0


def test_load_counts_from_the_group_start_not_the_pre_group_sessions():
    # C2's group sessions only begin after the 12-week horizon (2025-03-03 .. 2025-05-25)
    late_group = upcoming(group_start=date(2025, 5, 26))
    assert evaluate([running(), late_group], [facilitator(weekly_hours=10)]) == []


def test_a_clash_on_the_same_weekday_with_overlapping_times_is_critical():
    clashing = upcoming(slots=((0, "12:00", "DAYTIME"),))  # 10:00-12:30 against 12:00-14:30
    alert = only(evaluate([running(), clashing], [facilitator(weekly_hours=22)]))
    assert alert.severity is Severity.CRITICAL
    assert alert.numbers["clashes"] == 1 and alert.numbers["peak_hours"] == 15.0
    assert alert.reason == "cohorts C1 and C2 clash on Mon 10:00 from 2025-03-17"
    assert alert.act_by == NEXT_START


def test_same_weekday_back_to_back_sessions_do_not_clash():
    touching = upcoming(slots=((0, "12:30", "DAYTIME"),))  # 10:00-12:30 then 12:30-15:00
    assert evaluate([running(), touching], [facilitator(weekly_hours=22)]) == []


def test_the_same_time_on_another_weekday_does_not_clash():
    assert evaluate([running(), upcoming(slots=((1, "10:00", "DAYTIME"),))], [facilitator()]) == []


def test_the_same_slot_in_dates_that_do_not_overlap_does_not_clash():
    after = upcoming(start_date=RUNNING_TO.replace(day=24), end_date=date(2025, 11, 10),
                     slots=((0, "10:00", "DAYTIME"),))
    assert evaluate([running(), after], [facilitator()]) == []


def test_clash_and_hours_together_report_both_and_count_every_clash():
    c3 = upcoming(cohort_id="C3", slots=((0, "11:00", "DAYTIME"),))
    c2 = upcoming(slots=((0, "10:00", "DAYTIME"),))
    alert = only(evaluate([running(), c2, c3], [facilitator(weekly_hours=20)]))
    assert alert.severity is Severity.CRITICAL and alert.numbers["clashes"] == 3
    assert alert.numbers["peak_hours"] == 22.5
    assert "22.5 h booked in the week of 2025-03-17 against 20 h contracted" in alert.reason
    assert "cohorts C1 and C2 clash on Mon 10:00 from 2025-03-17 (+2 more)" in alert.reason


@pytest.mark.parametrize("cohorts, facilitators", [
    ([running(), upcoming()], [facilitator(weekly_hours=10, left_on=TODAY)]),  # left today
    ([running(), upcoming()], []),  # not in this region's view
    ([running(), upcoming(status="CANCELLED")], [facilitator(weekly_hours=10)]),
    ([running(end_date=date(2025, 3, 2)), upcoming(start_date=date(2025, 3, 3))],  # C1 ended yesterday
     [facilitator(weekly_hours=10)]),
    ([running(), upcoming(start_date=date(2025, 5, 26), end_date=date(2025, 10, 6))],  # beyond the horizon
     [facilitator(weekly_hours=10)]),
    ([running(), upcoming(facilitator_ids=("F2",))], [facilitator(weekly_hours=10)]),
])
def test_quiet_when_not_booked_not_in_post_or_beyond_the_horizon(cohorts, facilitators):
    assert evaluate(cohorts, facilitators) == []


def test_clears_when_a_group_is_reassigned_and_does_not_repeat_while_unchanged():
    f = facilitator(weekly_hours=10)
    alert = only(evaluate([running(), upcoming()], [f]))
    open_ = active(alert)
    assert not reconcile(evaluate([running(), upcoming()], [f]), open_)
    assert not reconcile(evaluate([running(), upcoming()], [f], today=date(2025, 3, 5)), open_)

    fixed = inputs(cohorts=[running(), upcoming(facilitator_ids=("F2",))], facilitators=[f])
    changes = reconcile(rule.evaluate(fixed, thresholds()), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["facilitator.overbooked:facilitator:F1"]
    assert rule.cleared(changes.cleared[0], fixed) == "bookings now within 10 h a week and without clashes"


def test_cleared_when_the_facilitator_leaves():
    alert = only(evaluate([running(), upcoming()], [facilitator(weekly_hours=10)]))
    gone = inputs(cohorts=[running(), upcoming()], facilitators=[facilitator(weekly_hours=10, left_on=TODAY)])
    changes = reconcile(rule.evaluate(gone, thresholds()), active(alert))
    assert rule.cleared(changes.cleared[0], gone) == "facilitator no longer in post"


def test_a_new_clash_turns_the_warning_critical():
    alert = only(evaluate([running(), upcoming()], [facilitator(weekly_hours=10)]))
    clash = evaluate([running(), upcoming(slots=((0, "11:00", "DAYTIME"),))], [facilitator(weekly_hours=10)])
    [(now, before)] = reconcile(clash, active(alert)).updated
    assert before["severity"] == "WARNING" and now.severity is Severity.CRITICAL
    assert before["numbers"]["clashes"] == 0 and now.numbers["clashes"] == 1


def test_a_future_overbooking_found_again_a_week_later_is_not_an_update():
    f = facilitator(weekly_hours=10)
    alert = only(evaluate([running(), upcoming()], [f]))
    assert not reconcile(evaluate([running(), upcoming()], [f], today=date(2025, 3, 10)), active(alert))


def test_a_clash_between_running_groups_found_again_next_day_is_not_an_update():
    """act_by is today once the clash has begun; neither it nor the peak week may drift into an update."""
    both_running = [running(), running(cohort_id="C2", slots=((0, "11:00", "DAYTIME"),))]
    f = facilitator(weekly_hours=22)
    alert = only(evaluate(both_running, [f]))
    assert alert.severity is Severity.CRITICAL and alert.numbers["clashes"] == 1
    assert not reconcile(evaluate(both_running, [f], today=date(2025, 3, 4)), active(alert))
