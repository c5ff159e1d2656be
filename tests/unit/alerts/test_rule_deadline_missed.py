"""deadline.missed: not started, no place, and the latest start has passed (or none finishes in time)."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import deadline_at_risk
from engine.alerts.rules import deadline_missed as rule
from tests.unit.alerts.factories import (
    CRN,
    PDU,
    REGION,
    TODAY,
    active,
    assert_no_crn,
    inputs,
    only,
    referral,
    thresholds,
)


def evaluate(*referrals, **kw):
    return rule.evaluate(inputs(referrals=referrals, **kw), thresholds())


def test_raises_critical_when_the_latest_start_passed_yesterday():
    alert = only(evaluate(referral(latest_start=date(2025, 3, 2), deadline=date(2025, 7, 14))))
    assert alert.kind == "deadline.missed" == rule.KIND
    assert alert.severity is Severity.CRITICAL
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("referral", "REF-1", REGION)
    assert (alert.pdu_code, alert.key) == (PDU, CRN)
    assert alert.act_by == date(2025, 7, 14)  # the order's end is still ahead: act before it
    assert dict(alert.numbers) == {"latest_start": "2025-03-02", "deadline": "2025-07-14",
                                   "status": "AWAITING_ALLOCATION"}
    assert "latest start 2025-03-02 passed" in alert.reason and "2025-07-14" in alert.reason
    assert "cannot be completed" in alert.reason
    assert_no_crn(alert)


def test_raises_when_no_start_on_a_usual_pattern_finishes_in_time():
    alert = only(evaluate(referral(latest_start=None, deadline=date(2025, 5, 1))))
    assert alert.severity is Severity.CRITICAL
    assert alert.numbers["latest_start"] is None and alert.numbers["deadline"] == "2025-05-01"
    assert "no start on a usual pattern finishes in time" in alert.reason and "2025-05-01" in alert.reason


def test_act_by_is_none_once_the_order_has_ended():
    alert = only(evaluate(referral(latest_start=date(2024, 11, 1), deadline=date(2025, 3, 2))))
    assert alert.act_by is None and "2025-03-02" in alert.reason
    assert only(evaluate(referral(latest_start=date(2024, 11, 1), deadline=TODAY))).act_by == TODAY


def test_quiet_on_the_latest_start_itself_which_is_still_at_risk():
    r = referral(latest_start=TODAY)
    assert evaluate(r) == []
    assert only(deadline_at_risk.evaluate(inputs(referrals=[r]), thresholds())).severity is Severity.CRITICAL


@pytest.mark.parametrize("change", [
    dict(cohort_id="C1"),
    dict(status="SCHEDULED", cohort_id="C1"),
    dict(status="RETURN_TO_COURT"),
    dict(status="BREACH"),
    dict(deadline=None, latest_start=None, latest_end=None),  # no deadline on record
])
def test_quiet_when_placed_paused_or_without_a_deadline(change):
    assert evaluate(referral(**{"latest_start": date(2025, 2, 1), **change})) == []


def test_clears_when_placed_and_does_not_repeat_while_unchanged():
    r = referral(latest_start=date(2025, 2, 1), deadline=date(2025, 6, 30))
    alert = only(evaluate(r))
    open_ = active(alert)
    assert not reconcile(evaluate(r), open_)
    assert not reconcile(evaluate(r, today=date(2025, 3, 10)), open_)  # a week on, nothing new

    placed = inputs(referrals=[referral(latest_start=date(2025, 2, 1), deadline=date(2025, 6, 30),
                                        status="SCHEDULED", cohort_id="C7")])
    changes = reconcile(rule.evaluate(placed, thresholds()), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["deadline.missed:referral:REF-1"]
    assert rule.cleared(changes.cleared[0], placed) == "placed on cohort C7"


def test_an_extended_order_that_still_cannot_be_met_is_an_update():
    alert = only(evaluate(referral(latest_start=date(2025, 1, 20), deadline=date(2025, 6, 30))))
    changes = reconcile(evaluate(referral(latest_start=date(2025, 2, 17), deadline=date(2025, 7, 28))),
                        active(alert))
    [(now, before)] = changes.updated
    assert before["numbers"]["deadline"] == "2025-06-30" and now.numbers["deadline"] == "2025-07-28"
    assert now.act_by == date(2025, 7, 28) and now.severity is Severity.CRITICAL


def test_an_order_extended_enough_hands_over_to_at_risk():
    alert = only(evaluate(referral(latest_start=date(2025, 2, 1), deadline=date(2025, 6, 30))))
    extended = inputs(referrals=[referral(latest_start=date(2025, 3, 24), deadline=date(2025, 10, 27))])
    changes = reconcile(rule.evaluate(extended, thresholds()), active(alert))
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], extended) == (
        "deadline now 2025-10-27, latest start 2025-03-24: see deadline.at_risk")
    assert only(deadline_at_risk.evaluate(extended, thresholds())).subject_id == "REF-1"


def test_cleared_when_the_referral_leaves_the_view():
    alert = only(evaluate(referral(latest_start=date(2025, 2, 1))))
    gone = inputs()
    changes = reconcile(rule.evaluate(gone, thresholds()), active(alert))
    assert rule.cleared(changes.cleared[0], gone) == "referral closed or no longer in this region"


def test_cleared_reason_names_the_new_status_when_the_referral_stops_waiting():
    alert = only(evaluate(referral(latest_start=date(2025, 2, 1), deadline=date(2025, 6, 30))))
    returned = inputs(referrals=[referral(latest_start=date(2025, 2, 1), deadline=date(2025, 6, 30),
                                          status="RETURN_TO_COURT")])
    changes = reconcile(rule.evaluate(returned, thresholds()), active(alert))
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert deadline_at_risk.evaluate(returned, thresholds()) == []
    reason = rule.cleared(changes.cleared[0], returned)
    assert "return_to_court" in reason.lower() and "see deadline.at_risk" not in reason
