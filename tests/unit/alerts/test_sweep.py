"""The alert sweep on a real engine (SQLite): raised once, updated/cleared under the same alert id,
silent when run again on the same state, and the dead-letter rule raised about no one region.

The capacity.shortfall rule is written and tested separately, so the sweeps here run every other
registered rule (``RULES_UNDER_TEST``) — through the planner exactly as ``Harness.plan`` does.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

import pytest

from engine.alerts.model import ALL_REGIONS
from engine.alerts.rules import RULES
from engine.alerts.settings import AlertThresholds
from engine.alerts.sweep import AlertSweep
from engine.services.planning import Planner, PlanOutcome
from solver.baselines import CurrentPracticeAllocator
from tests.support.events import (
    cohort_planned,
    event,
    facilitator,
    person_with_referral,
)
from tests.unit.engine.harness import Harness

RULES_UNDER_TEST = tuple(m for m in RULES if m.KIND != "capacity.shortfall")
ALERT_TYPES = ("alert.raised", "alert.updated", "alert.cleared")


@pytest.fixture(autouse=True)
def _no_alert_env(monkeypatch):
    import os
    for name in list(os.environ):
        if name.startswith("COHORTPLAN_ALERT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def sweep(h: Harness, thresholds: AlertThresholds | None = None) -> AlertSweep:
    return AlertSweep(h.rules, thresholds, modules=RULES_UNDER_TEST)


def plan(h: Harness, as_of: date) -> PlanOutcome:
    """``Harness.plan`` with the rules under test: publish a plan, then sweep in the same transaction."""
    return Planner(h.db.uow, CurrentPracticeAllocator(), h.rules, alerts=sweep(h)).plan("RS", as_of)


def messages(h: Harness, kind: str | None = None) -> list[tuple[str, dict]]:
    """(event type, envelope) of every alert message in the outbox, in order."""
    out = []
    for row in h.outbox():
        if row["event_type"] in ALERT_TYPES:
            envelope = json.loads(row["message"])
            if kind is None or envelope["payload"]["kind"] == kind:
                out.append((row["event_type"], envelope))
    return out


def plan_clock(as_of: date) -> datetime:
    return datetime.combine(as_of, time(6, 0), tzinfo=timezone.utc)


# --- (a) a repeated sweep on the same state is silent -----------------------------------------------

def test_a_sweep_run_again_on_the_same_day_adds_no_outbox_rows(h):
    # one person whose order is too short to finish, and a cohort nobody can fill to its minimum
    h.feed(*person_with_referral("X000020", months=4), *person_with_referral("X000021"),
           cohort_planned("C1", date(2025, 3, 24), min_size=4), facilitator("F1"), facilitator("F2"))
    as_of = date(2025, 3, 3)
    outcome = plan(h, as_of)
    raised = messages(h)
    assert outcome.alerts.raised == len(raised) >= 2
    kinds = {env["payload"]["kind"] for _, env in raised}
    assert {"deadline.missed", "cohort.below_minimum"} <= kinds
    assert {t for t, _ in raised} == {"alert.raised"}
    at = datetime.fromisoformat(raised[0][1]["occurred_at"].replace("Z", "+00:00"))
    assert at == plan_clock(as_of)

    rows_before = len(h.outbox())
    with h.db.uow() as uow:
        again = sweep(h).run(uow, "RS", as_of, at)
        uow.commit()
    assert (again.raised, again.updated, again.cleared) == (0, 0, 0)
    assert again.open["deadline.missed"] == ["REF-X000020"] and again.open["cohort.below_minimum"] == ["C1"]
    assert len(h.outbox()) == rows_before

    plan(h, as_of)  # and a second plan of the same day, with its own clock, is silent too
    assert messages(h) == raised


def test_raised_messages_name_people_by_referral_id_and_key_them_by_crn(h):
    h.feed(*person_with_referral("X000020", months=4), facilitator("F1"), facilitator("F2"))
    plan(h, date(2025, 2, 3))
    [(event_type, envelope)] = messages(h, "deadline.missed")
    payload = envelope["payload"]
    assert event_type == "alert.raised" and envelope["key"] == "X000020"
    assert payload["alert_id"] == "deadline.missed:referral:REF-X000020"
    assert payload["subject_id"] == "REF-X000020" and payload["region_code"] == "RS"
    assert "X000020" not in payload["reason"].replace("REF-X000020", "")


# --- (b) a later date: updated, then cleared, under one alert id --------------------------------------

def test_at_risk_is_raised_updated_to_critical_and_cleared_under_one_alert_id(h):
    h.feed(*person_with_referral("X000030", months=8), facilitator("F1"), facilitator("F2"))
    plan(h, date(2025, 2, 3))
    [(_, raised)] = messages(h, "deadline.at_risk")
    payload = raised["payload"]
    assert payload["severity"] == "WARNING" and raised["key"] == "X000030"
    latest_start = date.fromisoformat(payload["numbers"]["latest_start"])
    assert payload["act_by"] == latest_start.isoformat()
    assert date(2025, 2, 17) < latest_start <= date(2025, 3, 31)  # inside 8 weeks, beyond 2

    plan(h, latest_start - timedelta(days=7))  # nothing changed but the calendar: inside two weeks now
    plan(h, latest_start - timedelta(days=6))  # still critical, same facts: no repeat
    plan(h, latest_start + timedelta(days=1))  # the latest start has passed
    trail = messages(h, "deadline.at_risk")
    assert [t for t, _ in trail] == ["alert.raised", "alert.updated", "alert.cleared"]
    (_, raised), (_, updated), (_, cleared) = trail
    assert {env["payload"]["alert_id"] for _, env in trail} == {"deadline.at_risk:referral:REF-X000030"}
    assert len({env["event_id"] for _, env in trail}) == 3
    assert {env["key"] for _, env in trail} == {"X000030"}
    assert updated["payload"]["severity"] == "CRITICAL" and updated["payload"]["previous_severity"] == "WARNING"
    assert updated["payload"]["numbers"] == raised["payload"]["numbers"]
    assert updated["payload"]["act_by"] == raised["payload"]["act_by"]
    assert cleared["payload"]["reason"] == "latest start passed: see deadline.missed"

    [(_, missed)] = messages(h, "deadline.missed")
    assert missed["payload"]["subject_id"] == "REF-X000030" and missed["payload"]["severity"] == "CRITICAL"


# --- (c) cohort below its minimum --------------------------------------------------------------------

def short_cohort(h: Harness, people: int = 2) -> None:
    h.feed(*[line for i in range(people) for line in person_with_referral(f"X{i:06d}")],
           cohort_planned("C1", date(2025, 3, 24), min_size=4), facilitator("F1"), facilitator("F2"))


def test_a_cohort_below_minimum_is_raised_and_cleared_when_enough_people_are_placed(h):
    short_cohort(h)
    outcome = plan(h, date(2025, 3, 3))
    assert outcome.alerts.open["cohort.below_minimum"] == ["C1"]
    [(_, raised)] = messages(h, "cohort.below_minimum")
    payload = raised["payload"]
    assert (payload["severity"], payload["subject_type"], payload["subject_id"]) == ("WARNING", "cohort", "C1")
    assert payload["region_code"] == "RS" and payload["pdu_code"] == "RS-P01" and raised["key"] == "C1"
    assert payload["act_by"] == "2025-03-17"
    assert payload["numbers"] == {"members": 0, "min_size": 4, "start_date": "2025-03-24"}
    assert "0 of a minimum 4" in payload["reason"]

    h.feed(*[line for i in range(2, 8) for line in person_with_referral(f"X{i:06d}")])
    outcome = plan(h, date(2025, 3, 4))
    assert outcome.alerts.open["cohort.below_minimum"] == []
    assert h.referral("REF-X000000").cohort_id == "C1"
    trail = messages(h, "cohort.below_minimum")
    assert [t for t, _ in trail] == ["alert.raised", "alert.cleared"]
    cleared = trail[1][1]["payload"]
    assert cleared["alert_id"] == payload["alert_id"] == "cohort.below_minimum:cohort:C1"
    assert cleared["reason"].endswith("members, minimum 4 reached")


def test_a_cohort_below_minimum_turns_critical_and_clears_when_cancelled(h):
    short_cohort(h)
    plan(h, date(2025, 3, 3))
    plan(h, date(2025, 3, 17))  # a week to go: CRITICAL
    h.feed(event("cohort.cancelled", key="RS", cohort_id="C1", reason="too few referrals"))
    plan(h, date(2025, 3, 18))
    trail = messages(h, "cohort.below_minimum")
    assert [t for t, _ in trail] == ["alert.raised", "alert.updated", "alert.cleared"]
    assert {env["payload"]["alert_id"] for _, env in trail} == {"cohort.below_minimum:cohort:C1"}
    updated = trail[1][1]["payload"]
    assert updated["severity"] == "CRITICAL" and updated["previous_severity"] == "WARNING"
    assert trail[2][1]["payload"]["reason"] == "cohort cancelled (it was to start 2025-03-24)"
    with h.db.uow() as uow:
        assert uow.active_alerts("RS", kinds=["cohort.below_minimum"]) == {}


# --- (d) dead letters, about no one region -----------------------------------------------------------

def test_dead_letters_over_the_threshold_raise_under_all_regions_and_clear_when_the_hour_passes(h):
    result = h.feed("garbage", "{}", '{"event_type": "nope"}', "[1, 2]")
    assert result.dead_lettered == 4
    with h.db.uow() as uow:
        received = [at for at, _ in uow.dead_letters_since(datetime(2000, 1, 1, tzinfo=timezone.utc))]
    assert len(received) == 4
    now = max(received) + timedelta(minutes=1)  # the wall clock the sweep counts the hour back from
    today, at = now.date(), now.replace(microsecond=0)
    three = AlertThresholds(dead_letters_per_hour=3)

    with h.db.uow() as uow:
        first = sweep(h, three).run(uow, "RS", today, at, now=now)
        uow.commit()
    assert first.raised == 1 and first.open["events.dead_lettered"] == ["dead-letters"]
    [(event_type, envelope)] = messages(h, "events.dead_lettered")
    payload = envelope["payload"]
    assert event_type == "alert.raised" and envelope["key"] == "dead-letters"
    assert payload["region_code"] == ALL_REGIONS == "*"
    assert payload["alert_id"] == "events.dead_lettered:event:dead-letters"
    assert payload["subject_type"] == "event" and payload["severity"] == "WARNING"
    assert payload["numbers"] == {"threshold": 3, "over_threshold_times": 1}
    assert payload["reason"].startswith("4 events rejected") and "test (4)" in payload["reason"]
    with h.db.uow() as uow:
        assert list(uow.active_alerts(ALL_REGIONS)) == [payload["alert_id"]]
        assert uow.active_alerts("RS", kinds=["events.dead_lettered"]) == {}

    with h.db.uow() as uow:  # again, same hour: silent
        again = sweep(h, three).run(uow, "RS", today, at, now=now)
        uow.commit()
    assert (again.raised, again.updated, again.cleared) == (0, 0, 0)
    assert len(messages(h, "events.dead_lettered")) == 1

    later = now + timedelta(hours=2)
    with h.db.uow() as uow:
        cleared = sweep(h, three).run(uow, "RS", later.date(), later.replace(microsecond=0), now=later)
        uow.commit()
    assert cleared.cleared == 1
    trail = messages(h, "events.dead_lettered")
    assert [t for t, _ in trail] == ["alert.raised", "alert.cleared"]
    assert trail[1][1]["payload"]["alert_id"] == payload["alert_id"]
    assert trail[1][1]["payload"]["region_code"] == "*"
    assert trail[1][1]["payload"]["reason"] == (
        f"0 rejected in the hour to {later:%Y-%m-%d %H:%M} UTC by the server clock (time received)")


@pytest.mark.parametrize("lines, thresholds", [
    (("garbage", "{}", "[1, 2]"), AlertThresholds(dead_letters_per_hour=3)),  # exactly at the threshold
    (("garbage", "{}", "[1, 2]", "[3]"), None),  # four is well within the default of ten
])
def test_dead_letters_not_over_the_threshold_raise_nothing(h, lines, thresholds):
    assert h.feed(*lines).dead_lettered == len(lines)
    with h.db.uow() as uow:
        received = [at for at, _ in uow.dead_letters_since(datetime(2000, 1, 1, tzinfo=timezone.utc))]
        now = max(received) + timedelta(minutes=1)
        result = sweep(h, thresholds).run(uow, "RS", now.date(), now, now=now)
        uow.commit()
    assert result.raised == 0 and result.open["events.dead_lettered"] == [] and messages(h) == []


# --- the calendar alone must not re-announce an alert ------------------------------------------------

def test_an_unchanged_short_cohort_is_not_re_announced_each_day_of_its_last_week(h):
    """Inside the last week act_by is the sweep's date: it moves daily, and that alone is not news."""
    short_cohort(h)
    plan(h, date(2025, 3, 18))
    plan(h, date(2025, 3, 19))
    assert [t for t, _ in messages(h, "cohort.below_minimum")] == ["alert.raised"]
