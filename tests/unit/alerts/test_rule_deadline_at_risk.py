"""deadline.at_risk: not started, no place, latest start within ``at_risk_weeks``; CRITICAL in the last two."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import deadline_at_risk as rule
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

# today 2025-03-03: the at-risk window ends 2025-04-28 (8 weeks), the critical one 2025-03-17 (2 weeks)
WINDOW_END = date(2025, 4, 28)
CRITICAL_END = date(2025, 3, 17)


def evaluate(*referrals, **kw):
    return rule.evaluate(inputs(referrals=referrals, **kw), thresholds())


def test_raises_a_warning_when_the_latest_start_is_on_the_last_day_of_the_window():
    r = referral(latest_start=WINDOW_END, deadline=date(2025, 10, 20))
    alert = only(evaluate(r))
    assert alert.kind == "deadline.at_risk" == rule.KIND
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id) == ("referral", "REF-1")
    assert alert.alert_id == "deadline.at_risk:referral:REF-1"
    assert (alert.region_code, alert.pdu_code, alert.key) == (REGION, PDU, CRN)
    assert alert.act_by == WINDOW_END
    assert dict(alert.numbers) == {"latest_start": "2025-04-28", "deadline": "2025-10-20",
                                   "status": "AWAITING_ALLOCATION"}
    assert "2025-04-28" in alert.reason and "2025-10-20" in alert.reason and "BC-M" in alert.reason
    assert_no_crn(alert)


@pytest.mark.parametrize("latest_start, severity", [
    (TODAY, Severity.CRITICAL),
    (CRITICAL_END, Severity.CRITICAL),
    (date(2025, 3, 18), Severity.WARNING),
    (WINDOW_END, Severity.WARNING),
])
def test_critical_within_two_weeks_warning_after(latest_start, severity):
    assert only(evaluate(referral(latest_start=latest_start))).severity is severity


@pytest.mark.parametrize("status", ["AWAITING_ASSESSMENT", "AWAITING_ALLOCATION", "SUITABLE_NOT_READY"])
def test_every_not_started_status_is_watched(status):
    alert = only(evaluate(referral(status=status, latest_start=date(2025, 4, 1))))
    assert alert.numbers["status"] == status and status.lower() in alert.reason


def test_quiet_one_day_beyond_the_window():
    assert evaluate(referral(latest_start=WINDOW_END.replace(day=29))) == []


def test_the_window_follows_the_at_risk_weeks_threshold():
    r = referral(latest_start=date(2025, 3, 31))  # four weeks out
    assert rule.evaluate(inputs(referrals=[r]), thresholds(at_risk_weeks=4)) != []
    assert rule.evaluate(inputs(referrals=[r]), thresholds(at_risk_weeks=3)) == []


@pytest.mark.parametrize("change", [
    dict(cohort_id="C1"),  # has a place
    dict(status="SCHEDULED", cohort_id="C1"),
    dict(status="DEFERRED"),  # enforcement/deferral pauses the clock
    dict(status="BREACH"),
    dict(latest_start=None),  # nothing finishes in time: deadline.missed's case
    dict(latest_start=date(2025, 3, 2)),  # passed yesterday: deadline.missed's case
])
def test_quiet_when_placed_not_waiting_or_past_the_latest_start(change):
    assert evaluate(referral(**{"latest_start": date(2025, 3, 10), **change})) == []


def test_only_the_referrals_at_risk_are_raised():
    found = evaluate(referral(referral_id="REF-1", latest_start=date(2025, 3, 10)),
                     referral(referral_id="REF-2", crn="X999999", latest_start=date(2025, 9, 1)),
                     referral(referral_id="REF-3", crn="X888888", latest_start=date(2025, 4, 7)))
    assert sorted((a.subject_id, a.severity) for a in found) == [("REF-1", Severity.CRITICAL),
                                                                  ("REF-3", Severity.WARNING)]
    assert [a.key for a in sorted(found, key=lambda a: a.subject_id)] == [CRN, "X888888"]


def test_clears_when_placed_and_does_not_repeat_while_unchanged():
    r = referral(latest_start=date(2025, 4, 7))
    alert = only(evaluate(r))
    open_ = active(alert)

    again = reconcile(evaluate(r), open_)
    assert not again and again.raised == again.updated == again.cleared == []

    placed = inputs(referrals=[referral(latest_start=date(2025, 4, 7), cohort_id="C1", status="SCHEDULED")])
    changes = reconcile(rule.evaluate(placed, thresholds()), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], placed) == "placed on cohort C1"


def test_becomes_critical_inside_two_weeks_as_an_update_not_a_new_alert():
    r = referral(latest_start=date(2025, 3, 28))
    warning = only(evaluate(r))
    assert warning.severity is Severity.WARNING
    later = rule.evaluate(inputs(referrals=[r], today=date(2025, 3, 14)), thresholds())
    changes = reconcile(later, active(warning))
    assert changes.raised == [] and changes.cleared == []
    [(now, before)] = changes.updated
    assert now.alert_id == warning.alert_id and now.severity is Severity.CRITICAL
    assert before["severity"] == "WARNING" and now.numbers == warning.numbers and now.act_by == warning.act_by


def test_a_status_change_while_still_at_risk_is_an_update():
    r = referral(status="AWAITING_ASSESSMENT", latest_start=date(2025, 4, 7))
    alert = only(evaluate(r))
    changes = reconcile(evaluate(referral(status="AWAITING_ALLOCATION", latest_start=date(2025, 4, 7))),
                        active(alert))
    [(now, before)] = changes.updated
    assert before["numbers"]["status"] == "AWAITING_ASSESSMENT" and now.numbers["status"] == "AWAITING_ALLOCATION"


@pytest.mark.parametrize("after, reason", [
    (dict(referrals=[]), "referral closed or no longer in this region"),
    (dict(referrals=[referral(latest_start=date(2025, 4, 7))], today=date(2025, 4, 8)),
     "latest start passed: see deadline.missed"),
    (dict(referrals=[referral(latest_start=None)]), "latest start passed: see deadline.missed"),
    (dict(referrals=[referral(status="DEFERRED", latest_start=date(2025, 4, 7))]),
     "status now deferred"),
])
def test_cleared_reasons(after, reason):
    alert = only(evaluate(referral(latest_start=date(2025, 4, 7))))
    now = inputs(**after)
    changes = reconcile(rule.evaluate(now, thresholds()), active(alert))
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], now) == reason
