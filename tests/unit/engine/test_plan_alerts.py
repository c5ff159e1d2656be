"""Deadline alerts from planning: raised once per condition, kept while it holds, cleared when it ends."""
from __future__ import annotations

import json
from datetime import date

import pytest

from tests.support.events import cohort_planned, facilitator, person_with_referral
from tests.unit.engine.harness import Harness


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def alerts(h: Harness, event_type: str, kind: str) -> list[dict]:
    payloads = [json.loads(m["message"])["payload"] for m in h.outbox(event_type)]
    return [p for p in payloads if p["kind"] == kind]


def short_order(h: Harness) -> None:
    """Four months to complete a 21-week programme: nothing can finish in time."""
    h.feed(*person_with_referral("X000020", months=4), cohort_planned("C1", date(2025, 3, 3)),
           facilitator("F1"), facilitator("F2"))


def test_a_person_whose_latest_start_has_passed_raises_one_critical_missed_alert_not_at_risk(h):
    short_order(h)
    h.plan(date(2025, 2, 3))
    h.plan(date(2025, 2, 10))
    assert alerts(h, "alert.raised", "deadline.at_risk") == []
    raised = alerts(h, "alert.raised", "deadline.missed")
    assert len(raised) == 1
    assert raised[0]["severity"] == "CRITICAL" and raised[0]["subject_id"] == "REF-X000020"
    assert "cannot be completed" in raised[0]["reason"] and "X000020" not in raised[0]["reason"]
    assert raised[0]["numbers"]["deadline"] == raised[0]["act_by"]


def test_nobody_is_at_risk_when_a_place_finishes_in_time(h):
    h.feed(*[line for i in range(8) for line in person_with_referral(f"X{i:06d}")],
           cohort_planned("C1", date(2025, 3, 3)), facilitator("F1"), facilitator("F2"))
    outcome = h.plan(date(2025, 2, 10))
    assert outcome.at_risk == [] and alerts(h, "alert.raised", "deadline.at_risk") == []


def test_an_at_risk_alert_clears_into_deadline_missed_once_the_latest_start_passes(h):
    h.feed(*person_with_referral("X000030", months=8), facilitator("F1"), facilitator("F2"))
    first = h.plan(date(2025, 2, 3))
    assert first.at_risk == ["REF-X000030"] and first.missed == []
    outcome = h.plan(date(2025, 6, 2))
    assert outcome.missed == ["REF-X000030"] and outcome.at_risk == []
    cleared = alerts(h, "alert.cleared", "deadline.at_risk")
    assert len(cleared) == 1 and "deadline.missed" in cleared[0]["reason"]
    missed = alerts(h, "alert.raised", "deadline.missed")
    assert len(missed) == 1 and missed[0]["severity"] == "CRITICAL"
    h.plan(date(2025, 6, 9))
    assert len(alerts(h, "alert.raised", "deadline.missed")) == 1


def test_an_at_risk_alert_clears_when_the_person_gets_a_place(h):
    # seven people with long orders and one whose deadline is near but a cohort still fits
    lines = [line for i in range(7) for line in person_with_referral(f"X{i:06d}")]
    lines += person_with_referral("X000030", months=8)  # latest start late March: within 8 weeks
    h.feed(*lines, facilitator("F1"), facilitator("F2"))
    h.plan(date(2025, 2, 3))
    assert len(alerts(h, "alert.raised", "deadline.at_risk")) == 1  # no cohort planned yet
    h.feed(cohort_planned("C1", date(2025, 3, 3)))
    h.plan(date(2025, 2, 10))
    cleared = alerts(h, "alert.cleared", "deadline.at_risk")
    assert len(cleared) == 1 and cleared[0]["reason"] == "placed on cohort C1"
