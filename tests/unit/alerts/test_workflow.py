"""The ops workflow on the in-memory store: each action's transitions, validation, history and event, and
what the sweep does afterwards for each workflow state (quiet while acknowledged or snoozed unless the
severity rises, notified again when a snooze ends, raised anew after a resolve while the condition holds).

The sweep runs one stand-in rule (``FakeRule``) whose findings the test sets, on an empty region.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.alerts import workflow as wf
from engine.alerts.model import Alert, Severity
from engine.alerts.sweep import AlertSweep
from engine.domain.rules import EngineRules

REGION, TODAY = "RS", date(2025, 3, 3)
AT = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
ALERT_ID = "test.kind:referral:REF-1"


class FakeRule:
    """A rule module whose findings are whatever the test says."""

    SCOPE, KIND = "region", "test.kind"
    found: list[Alert] = []

    @classmethod
    def evaluate(cls, inputs, thresholds) -> list[Alert]:
        return list(cls.found)


def finding(severity: Severity = Severity.WARNING, weeks: int = 6) -> Alert:
    return Alert(kind=FakeRule.KIND, severity=severity, subject_type="referral", subject_id="REF-1",
                 region_code=REGION, reason=f"{weeks} weeks left", key="X000001", numbers={"weeks": weeks})


@pytest.fixture
def sweep(store):
    """Sweep the region on a day with the given findings; returns the alert event types it wrote."""
    engine_sweep = AlertSweep(EngineRules(), modules=(FakeRule,))

    def run(*found: Alert, today: date = TODAY) -> list[str]:
        FakeRule.found = list(found)
        before = len(store.outbox())
        engine_sweep.sweep(store.uow, REGION, today, now=AT)
        return [r["event_type"] for r in store.outbox()[before:]]
    return run


@pytest.fixture
def raised(store, sweep):
    assert sweep(finding()) == ["alert.raised"]
    return store


def act(store, name: str, today: date = TODAY, **values) -> wf.Outcome:
    return wf.act(store.uow, REGION, ALERT_ID, wf.make_action(name=name, actor="ops.user-1", **values), today, AT)


def state(store) -> str:
    with store.uow() as uow:
        return uow.active_alerts(REGION)[ALERT_ID]["workflow_state"]


def last_event(store) -> tuple[str, dict]:
    row = store.outbox()[-1]
    return row["event_type"], json.loads(row["message"])["payload"]


# --- actions ------------------------------------------------------------------------------------------

def test_acknowledge_sets_the_state_writes_the_event_and_the_history(raised):
    outcome = act(raised, "acknowledge", note="asked the PDU for an evening group")
    assert outcome.alert["workflow_state"] == "ACKNOWLEDGED" == state(raised)
    event_type, payload = last_event(raised)
    assert event_type == "alert.acknowledged"
    assert payload["actor"] == "ops.user-1" and payload["previous_state"] == "OPEN"
    assert payload["note"] == "asked the PDU for an evening group" and payload["alert_id"] == ALERT_ID
    with raised.uow() as uow:
        [row] = uow.alert_actions(ALERT_ID)
    assert (row["action"], row["actor"], row["note"], row["event_id"]) == (
        "acknowledge", "ops.user-1", "asked the PDU for an evening group", outcome.event_id)


def test_assign_keeps_the_assignee_through_acknowledge_and_snooze(raised):
    act(raised, "assign", user_id="tm.user-3")
    assert last_event(raised)[1]["assigned_to"] == "tm.user-3"
    act(raised, "acknowledge", note="on it")
    outcome = act(raised, "snooze", until=TODAY + timedelta(days=7))
    assert (outcome.alert["workflow_state"], outcome.alert["assigned_to"], outcome.alert["snoozed_until"]) == (
        "SNOOZED", "tm.user-3", TODAY + timedelta(days=7))
    with raised.uow() as uow:
        assert [r["action"] for r in uow.alert_actions(ALERT_ID)] == ["assign", "acknowledge", "snooze"]


@pytest.mark.parametrize("first, second", [
    (dict(name="acknowledge", note="a"), dict(name="acknowledge", note="again")),
    (dict(name="assign", user_id="u1"), dict(name="assign", user_id="u1")),
    (dict(name="resolve", note="done"), dict(name="acknowledge", note="late")),
    (dict(name="resolve", note="done"), dict(name="resolve", note="twice")),
])
def test_invalid_transitions_are_refused_and_change_nothing(raised, first, second):
    act(raised, first.pop("name"), **first)
    events = len(raised.outbox())
    with pytest.raises(wf.InvalidTransition):
        act(raised, second.pop("name"), **second)
    assert len(raised.outbox()) == events


def test_an_unknown_or_other_regions_alert_is_not_found(raised):
    with pytest.raises(wf.AlertNotFound):
        wf.act(raised.uow, "NE", ALERT_ID, wf.make_action(name="acknowledge", actor="u", note="n"), TODAY, AT)
    with pytest.raises(wf.AlertNotFound):
        wf.act(raised.uow, REGION, "test.kind:referral:NOPE", wf.make_action(name="acknowledge", actor="u",
                                                                            note="n"), TODAY, AT)


@pytest.mark.parametrize("values, field", [
    (dict(name="acknowledge", actor="u", note="x" * 501), "note"),
    (dict(name="acknowledge", actor="u", note="line\nbreak"), "note"),
    (dict(name="acknowledge", actor="u"), "note"),
    (dict(name="assign", actor="u", user_id="no spaces"), "user_id"),
    (dict(name="assign", actor="u", user_id="x" * 65), "user_id"),
    (dict(name="snooze", actor="u"), "until"),
    (dict(name="resolve", actor="x" * 65, note="n"), "actor"),
    (dict(name="resolve", actor="tab\there", note="n"), "actor"),
])
def test_bad_values_are_refused_naming_the_field(values, field):
    with pytest.raises(wf.InvalidAction, match=f"^{field}"):
        wf.make_action(**values)


@pytest.mark.parametrize("days", [0, -1, wf.MAX_SNOOZE_DAYS + 1])
def test_a_snooze_must_end_in_the_future_and_within_the_bound(raised, days):
    with pytest.raises(wf.InvalidAction, match="^until"):
        act(raised, "snooze", until=TODAY + timedelta(days=days))
    assert state(raised) == "OPEN"  # untouched


# --- what the sweep does for each workflow state ------------------------------------------------------

def test_open_and_assigned_alerts_are_updated_as_before(raised, sweep):
    assert sweep(finding(weeks=5)) == ["alert.updated"]
    act(raised, "assign", user_id="tm.user-3")
    assert sweep(finding(weeks=4)) == ["alert.updated"]
    assert state(raised) == "ASSIGNED"


def test_an_acknowledged_alert_is_not_re_notified_unless_its_severity_rises(raised, sweep):
    act(raised, "acknowledge", note="seen")
    assert sweep(finding(weeks=5)) == []  # numbers changed: stored quietly
    with raised.uow() as uow:
        assert uow.active_alerts(REGION)[ALERT_ID]["numbers"] == {"weeks": 5}
    assert sweep(finding(weeks=5)) == []
    assert state(raised) == "ACKNOWLEDGED"
    assert sweep(finding(Severity.CRITICAL, weeks=1)) == ["alert.updated"]  # worse: notified, ack dropped
    assert state(raised) == "OPEN"


def test_a_snoozed_alert_is_quiet_until_its_date_then_notified_again(raised, sweep):
    act(raised, "assign", user_id="tm.user-3")
    act(raised, "snooze", until=TODAY + timedelta(days=7))
    assert sweep(finding(weeks=5), today=TODAY + timedelta(days=6)) == []
    assert sweep(finding(weeks=5), today=TODAY + timedelta(days=7)) == ["alert.updated"]
    assert state(raised) == "ASSIGNED"  # back to whoever holds it
    assert sweep(finding(weeks=5), today=TODAY + timedelta(days=8)) == []


def test_a_snoozed_alert_whose_severity_rises_is_notified_at_once(raised, sweep):
    act(raised, "snooze", until=TODAY + timedelta(days=30))
    assert sweep(finding(Severity.CRITICAL)) == ["alert.updated"]
    assert state(raised) == "OPEN"


def test_an_acknowledged_alert_whose_condition_ends_is_cleared(raised, sweep):
    act(raised, "acknowledge", note="seen")
    assert sweep() == ["alert.cleared"]


def test_a_resolved_alert_is_raised_again_as_a_new_occurrence_while_the_condition_holds(raised, sweep):
    act(raised, "acknowledge", note="seen")
    act(raised, "resolve", note="placed by hand")
    assert last_event(raised)[0] == "alert.resolved" and state(raised) == "RESOLVED"
    later = AT + timedelta(days=7)
    assert sweep(finding(), today=TODAY + timedelta(days=7)) == ["alert.raised"]
    with raised.uow() as uow:
        row = uow.active_alerts(REGION)[ALERT_ID]
        assert row["workflow_state"] == "OPEN" and row["raised_at"].date() == later.date()
        assert [r["action"] for r in uow.alert_actions(ALERT_ID)] == ["acknowledge", "resolve"]  # history kept


def test_a_resolved_alert_whose_condition_ended_is_forgotten_without_a_cleared_event(raised, sweep):
    act(raised, "resolve", note="fixed")
    assert sweep() == []
    with raised.uow() as uow:
        assert ALERT_ID not in uow.active_alerts(REGION)
        assert [r["action"] for r in uow.alert_actions(ALERT_ID)] == ["resolve"]
