"""referral.stuck: longer in a status than its ``stuck_days`` threshold (per status, from settings)."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import referral_stuck as rule
from engine.alerts.settings import DEFAULT_STUCK_DAYS, AlertThresholds
from tests.unit.alerts.factories import (
    CRN,
    PDU,
    REGION,
    TODAY,
    active,
    assert_no_crn,
    days,
    inputs,
    only,
    referral,
    thresholds,
)

ASSESS = DEFAULT_STUCK_DAYS["AWAITING_ASSESSMENT"]  # 42


def assessing(**overrides):
    return referral(**{"status": "AWAITING_ASSESSMENT", "status_since": TODAY - days(ASSESS + 1),
                       "latest_start": None, **overrides})


def evaluate(*referrals, **kw):
    return rule.evaluate(inputs(referrals=referrals, **kw), thresholds())


def test_raises_a_warning_one_day_past_the_threshold():
    since = TODAY - days(43)  # 2025-01-19
    alert = only(evaluate(assessing()))
    assert alert.kind == "referral.stuck" == rule.KIND
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("referral", "REF-1", REGION)
    assert (alert.pdu_code, alert.key) == (PDU, CRN)
    assert alert.act_by == since + days(42)  # the day it became stuck
    assert dict(alert.numbers) == {"status": "AWAITING_ASSESSMENT", "since": "2025-01-19", "threshold_days": 42}
    assert alert.reason == "awaiting_assessment since 2025-01-19, longer than 42 days"
    assert_no_crn(alert)


def test_the_latest_start_is_named_and_sets_act_by_when_later():
    alert = only(evaluate(assessing(latest_start=date(2025, 8, 4))))
    assert alert.reason.endswith("; latest start for BC-M is 2025-08-04")
    assert alert.act_by == date(2025, 8, 4)
    passed = only(evaluate(assessing(latest_start=date(2025, 2, 3))))
    assert passed.act_by == date(2025, 3, 2)  # stuck since then: the earlier latest start does not win


def test_quiet_on_exactly_the_threshold():
    assert evaluate(assessing(status_since=TODAY - days(ASSESS))) == []


@pytest.mark.parametrize("status, limit", sorted(DEFAULT_STUCK_DAYS.items()))
def test_every_default_threshold_is_exclusive(status, limit):
    assert evaluate(referral(status=status, status_since=TODAY - days(limit))) == []
    alert = only(evaluate(referral(status=status, status_since=TODAY - days(limit + 1))))
    assert alert.numbers["threshold_days"] == limit and alert.numbers["status"] == status
    assert f"longer than {limit} days" in alert.reason and status.lower() in alert.reason


@pytest.mark.parametrize("status", ["AWAITING_ALLOCATION", "SCHEDULED", "ON_PROGRAMME", "RECALL"])
def test_a_status_without_a_threshold_is_quiet_however_long(status):
    assert evaluate(referral(status=status, status_since=date(2020, 1, 1))) == []


def test_thresholds_come_from_settings_per_status():
    waiting = referral(status="AWAITING_ALLOCATION", status_since=TODAY - days(11))
    custom = thresholds(stuck_days={"AWAITING_ALLOCATION": 10})
    alert = only(rule.evaluate(inputs(referrals=[waiting, assessing(referral_id="REF-2")]), custom))
    assert alert.subject_id == "REF-1" and alert.numbers["threshold_days"] == 10
    assert rule.evaluate(inputs(referrals=[waiting]), thresholds(stuck_days={"AWAITING_ALLOCATION": 11})) == []


def test_thresholds_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("COHORTPLAN_ALERT_STUCK_DAYS", '{"AWAITING_ALLOCATION": 10}')
    settings = AlertThresholds()
    assert settings.stuck_days == {"AWAITING_ALLOCATION": 10}
    waiting = referral(status="AWAITING_ALLOCATION", status_since=TODAY - days(11))
    assert only(rule.evaluate(inputs(referrals=[waiting]), settings)).numbers["threshold_days"] == 10


def test_clears_when_the_status_moves_on_and_does_not_repeat_while_unchanged():
    alert = only(evaluate(assessing()))
    open_ = active(alert)
    assert not reconcile(evaluate(assessing()), open_)
    assert not reconcile(evaluate(assessing(), today=date(2025, 3, 20)), open_)  # still stuck, same facts

    moved = inputs(referrals=[referral(status="AWAITING_ALLOCATION", status_since=date(2025, 3, 1))])
    changes = reconcile(rule.evaluate(moved, thresholds()), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["referral.stuck:referral:REF-1"]
    assert rule.cleared(changes.cleared[0], moved) == "moved on to awaiting_allocation on 2025-03-01"


def test_cleared_when_the_referral_leaves_the_view():
    alert = only(evaluate(assessing()))
    gone = inputs()
    changes = reconcile(rule.evaluate(gone, thresholds()), active(alert))
    assert rule.cleared(changes.cleared[0], gone) == "referral closed or no longer in this region"


def test_moving_from_one_stuck_status_to_another_is_an_update():
    alert = only(evaluate(referral(status="SUITABLE_NOT_READY", status_since=date(2024, 6, 3))))
    later = evaluate(referral(status="DEFERRED", status_since=date(2024, 8, 1)))
    changes = reconcile(later, active(alert))
    assert changes.raised == [] and changes.cleared == []
    [(now, before)] = changes.updated
    assert before["numbers"]["status"] == "SUITABLE_NOT_READY" and now.numbers["status"] == "DEFERRED"
    assert now.alert_id == alert.alert_id
