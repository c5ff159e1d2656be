"""cohort.facilitators_short: too few trained, in-post, present facilitators for an upcoming or running group."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import cohort_facilitators_short as rule
from tests.unit.alerts.factories import (
    PDU,
    REGION,
    TODAY,
    active,
    cohort,
    days,
    facilitator,
    inputs,
    only,
    thresholds,
)

# today 2025-03-03: looked at for starts 2025-03-04 .. 2025-03-31 (28 days); CRITICAL up to 2025-03-10
START = date(2025, 3, 24)
END = date(2025, 8, 11)


def c1(**overrides):
    return cohort(**{"start_date": START, "end_date": END, "facilitator_ids": ("F1", "F2"), **overrides})


def f1(**overrides):
    return facilitator(**{"facilitator_id": "F1", **overrides})


def f2(**overrides):
    return facilitator(**{"facilitator_id": "F2", **overrides})


def evaluate(cohorts, facilitators, **kw):
    return rule.evaluate(inputs(cohorts=cohorts, facilitators=facilitators, **kw), thresholds())


def test_raises_a_warning_when_one_of_two_is_not_trained():
    alert = only(evaluate([c1()], [f1(), f2(programmes={"TSP"})]))
    assert alert.kind == "cohort.facilitators_short" == rule.KIND
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("cohort", "C1", REGION)
    assert (alert.pdu_code, alert.key) == (PDU, "C1")
    assert alert.act_by == START
    assert dict(alert.numbers) == {"available": 1, "required": 2, "assigned": 2, "start_date": "2025-03-24"}
    for fact in ("BC-M", "RS-P01-O1", "starts 2025-03-24", "1 of 2 trained facilitators"):
        assert fact in alert.reason
    assert "leave" not in alert.reason


@pytest.mark.parametrize("start, severity", [
    (date(2025, 3, 4), Severity.CRITICAL),
    (date(2025, 3, 10), Severity.CRITICAL),
    (date(2025, 3, 11), Severity.WARNING),
    (date(2025, 3, 31), Severity.WARNING),
])
def test_critical_within_the_urgent_days(start, severity):
    alert = only(evaluate([c1(start_date=start)], [f1(), f2(programmes={"TSP"})]))
    assert alert.severity is severity and alert.act_by == start


def test_critical_at_any_distance_when_nobody_is_available():
    alert = only(evaluate([c1(facilitator_ids=())], []))
    assert alert.severity is Severity.CRITICAL
    assert alert.numbers["available"] == 0 and alert.numbers["assigned"] == 0


def test_an_unknown_facilitator_does_not_count():
    alert = only(evaluate([c1(facilitator_ids=("F1", "F9"))], [f1()]))
    assert alert.numbers["available"] == 1 and alert.numbers["assigned"] == 2


def test_a_facilitator_leaving_before_the_end_does_not_count():
    alert = only(evaluate([c1()], [f1(), f2(left_on=date(2025, 6, 2))]))
    assert alert.numbers["available"] == 1
    assert "F2 leaves before it ends" in alert.reason
    assert alert.act_by == START  # the start comes first


def test_two_leavers_are_both_named_and_the_first_leaving_date_counts():
    alert = only(evaluate([c1()], [f1(left_on=date(2025, 5, 5)), f2(left_on=date(2025, 3, 21))]))
    assert alert.numbers["available"] == 0 and alert.severity is Severity.CRITICAL
    assert "F1, F2 leave before it ends" in alert.reason
    assert alert.act_by == date(2025, 3, 21)


def test_a_proposal_nobody_was_placed_on_is_left_to_below_minimum():
    assert evaluate([c1(status="PROPOSED", members=0)], [f1(), f2(programmes={"TSP"})]) == []
    assert only(evaluate([c1(status="CONFIRMED", members=0)], [f1(), f2(programmes={"TSP"})]))


def test_act_by_is_the_leaving_date_when_that_comes_before_the_start():
    alert = only(evaluate([c1()], [f1(), f2(left_on=date(2025, 3, 20))]))
    assert alert.act_by == date(2025, 3, 20)


def test_leaving_on_the_last_day_counts_as_leaving_one_day_after_does_not():
    assert only(evaluate([c1()], [f1(), f2(left_on=END)])).numbers["available"] == 1
    assert evaluate([c1()], [f1(), f2(left_on=END + days(1))]) == []


def test_absence_in_the_first_fortnight_counts_one_from_day_fifteen_does_not():
    last_day = START + days(13)
    alert = only(evaluate([c1()], [f1(), f2(absences=[(last_day, last_day + days(7))])]))
    assert alert.numbers["available"] == 1
    assert evaluate([c1()], [f1(), f2(absences=[(START + days(14), START + days(21))])]) == []
    assert evaluate([c1()], [f1(), f2(absences=[(START - days(7), START - days(1))])]) == []
    assert only(evaluate([c1()], [f1(), f2(absences=[(START - days(7), START)])])).numbers["available"] == 1


def test_a_running_group_short_of_facilitators_is_critical_and_acts_by_the_leaving_date():
    running = c1(status="STARTED", start_date=date(2025, 2, 3), end_date=date(2025, 6, 23))
    alert = only(evaluate([running], [f1(), f2(left_on=date(2025, 4, 1))]))
    assert alert.severity is Severity.CRITICAL
    assert alert.act_by == date(2025, 4, 1)
    assert "(running)" in alert.reason and "F2 leaves before it ends" in alert.reason
    assert alert.numbers["start_date"] == "2025-02-03"


def test_a_running_group_short_through_training_acts_today():
    running = c1(status="CONFIRMED", start_date=TODAY, end_date=date(2025, 7, 21))
    alert = only(evaluate([running], [f1(), f2(programmes={"TSP"})]))
    assert alert.severity is Severity.CRITICAL and alert.act_by == TODAY


def test_a_running_group_ignores_absences():
    running = c1(status="STARTED", start_date=date(2025, 2, 3), end_date=date(2025, 6, 23))
    assert evaluate([running], [f1(), f2(absences=[(TODAY, TODAY + days(10))])]) == []


@pytest.mark.parametrize("cohorts", [
    [c1(start_date=date(2025, 4, 1), facilitator_ids=())],  # a day beyond the window
    [c1(status="PROPOSED", start_date=date(2025, 2, 3), end_date=date(2025, 6, 23), facilitator_ids=())],
    [c1(status="STARTED", start_date=date(2024, 10, 7), end_date=date(2025, 3, 2), facilitator_ids=())],  # ended
    [c1(status="CANCELLED", facilitator_ids=())],
])
def test_quiet_outside_the_window_or_not_upcoming_or_running(cohorts):
    assert evaluate(cohorts, [f1(), f2()]) == []


def test_quiet_with_all_required_facilitators_available():
    assert evaluate([c1()], [f1(), f2()]) == []
    assert evaluate([c1(facilitator_ids=("F1", "F2", "F3"))], [f1(), f2(), facilitator(facilitator_id="F3",
                                                                                       programmes={"TSP"})]) == []


def test_clears_when_a_trained_facilitator_is_assigned_and_does_not_repeat_while_unchanged():
    before_inputs = ([c1()], [f1(), f2(programmes={"TSP"})])
    alert = only(evaluate(*before_inputs))
    open_ = active(alert)
    assert not reconcile(evaluate(*before_inputs), open_)

    fixed = inputs(cohorts=[c1(facilitator_ids=("F1", "F3"))],
                   facilitators=[f1(), f2(programmes={"TSP"}), facilitator(facilitator_id="F3")])
    changes = reconcile(rule.evaluate(fixed, thresholds()), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["cohort.facilitators_short:cohort:C1"]
    assert rule.cleared(changes.cleared[0], fixed) == "2 of 2 trained facilitators available"


def test_cleared_when_the_cohort_is_cancelled():
    alert = only(evaluate([c1()], [f1(), f2(programmes={"TSP"})]))
    gone = inputs(facilitators=[f1(), f2()])
    changes = reconcile(rule.evaluate(gone, thresholds()), active(alert))
    assert rule.cleared(changes.cleared[0], gone) == "cohort cancelled or completed"


def test_becomes_critical_in_the_last_week_and_when_a_second_one_drops_out():
    alert = only(evaluate([c1()], [f1(), f2(programmes={"TSP"})]))
    later = evaluate([c1()], [f1(), f2(programmes={"TSP"})], today=date(2025, 3, 17))
    [(now, before)] = reconcile(later, active(alert)).updated
    assert before["severity"] == "WARNING" and now.severity is Severity.CRITICAL and now.numbers == alert.numbers

    worse = evaluate([c1()], [f1(left_on=date(2025, 5, 5)), f2(programmes={"TSP"})])
    [(now, before)] = reconcile(worse, active(alert)).updated
    assert now.severity is Severity.CRITICAL and now.numbers["available"] == 0 and before["numbers"]["available"] == 1


def test_an_unchanged_running_shortfall_is_not_updated_next_day():
    """act_by follows the calendar (today) for a running group; that alone is not an update."""
    running = c1(status="STARTED", start_date=date(2025, 2, 3), end_date=date(2025, 6, 23))
    staff = [f1(), f2(programmes={"TSP"})]
    alert = only(evaluate([running], staff))
    assert alert.act_by == TODAY
    assert not reconcile(evaluate([running], staff, today=date(2025, 3, 4)), active(alert))
