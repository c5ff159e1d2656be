"""cohort.below_minimum: an upcoming cohort short of its minimum within ``below_minimum_days`` of its start."""
from __future__ import annotations

import json
import os
from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import cohort_below_minimum as rule
from engine.alerts.sweep import AlertSweep
from engine.services.planning import Planner
from solver.baselines import CurrentPracticeAllocator
from tests.support.events import cohort_planned, event, facilitator, person_with_referral
from tests.unit.alerts.factories import (
    PDU,
    REGION,
    TODAY,
    active,
    cohort,
    inputs,
    only,
    thresholds,
)
from tests.unit.engine.harness import Harness

# today 2025-03-03: the window is 2025-03-04 .. 2025-03-24 (21 days); CRITICAL up to 2025-03-10 (7 days)
LAST = date(2025, 3, 24)


def short(**overrides):
    return cohort(**{"start_date": LAST, "members": 4, "min_size": 6, **overrides})


def evaluate(*cohorts, **kw):
    return rule.evaluate(inputs(cohorts=cohorts, **kw), thresholds())


def test_raises_a_warning_on_the_last_day_of_the_window():
    alert = only(evaluate(short()))
    assert alert.kind == "cohort.below_minimum" == rule.KIND
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("cohort", "C1", REGION)
    assert (alert.pdu_code, alert.key) == (PDU, "C1")
    assert alert.act_by == date(2025, 3, 17)  # a week before the start
    assert dict(alert.numbers) == {"members": 4, "min_size": 6, "start_date": "2025-03-24"}
    for fact in ("BC-M", "RS-P01-O1", "2025-03-24", "4 of a minimum 6", "2 short"):
        assert fact in alert.reason


@pytest.mark.parametrize("start, severity, act_by", [
    (date(2025, 3, 4), Severity.CRITICAL, TODAY),  # never act by a day already gone
    (date(2025, 3, 10), Severity.CRITICAL, TODAY),
    (date(2025, 3, 11), Severity.WARNING, date(2025, 3, 4)),
    (LAST, Severity.WARNING, date(2025, 3, 17)),
])
def test_critical_within_the_urgent_days(start, severity, act_by):
    alert = only(evaluate(short(start_date=start)))
    assert (alert.severity, alert.act_by) == (severity, act_by)


def test_confirmed_cohorts_and_empty_ones_count_too():
    alert = only(evaluate(short(status="CONFIRMED", members=0)))
    assert alert.numbers["members"] == 0 and "6 short" in alert.reason


@pytest.mark.parametrize("change", [
    dict(members=6),  # exactly the minimum
    dict(members=7),
    dict(start_date=date(2025, 3, 25)),  # a day beyond the window
    dict(start_date=TODAY, status="CONFIRMED"),  # starts today: too late for this alert
    dict(status="STARTED", start_date=date(2025, 3, 10)),
    dict(status="CANCELLED"),
])
def test_quiet_at_the_minimum_outside_the_window_or_not_upcoming(change):
    assert evaluate(short(**change)) == []


def test_the_window_follows_the_threshold():
    c = short(start_date=date(2025, 3, 31))
    assert evaluate(c) == []
    assert rule.evaluate(inputs(cohorts=[c]), thresholds(below_minimum_days=28)) != []


def test_clears_when_the_minimum_is_reached_and_does_not_repeat_while_unchanged():
    alert = only(evaluate(short()))
    open_ = active(alert)
    assert not reconcile(evaluate(short()), open_)
    assert not reconcile(evaluate(short(), today=date(2025, 3, 5)), open_)

    filled = inputs(cohorts=[short(members=6)])
    changes = reconcile(rule.evaluate(filled, thresholds()), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["cohort.below_minimum:cohort:C1"]
    assert rule.cleared(changes.cleared[0], filled) == "6 members, minimum 6 reached"


DAY_AFTER = date(2025, 3, 25)


@pytest.mark.parametrize("after, reason", [
    (dict(cohorts=[short(start_date=date(2025, 4, 28))]),
     "start moved from 2025-03-24 to 2025-04-28, outside the alert window (4 of a minimum 6, proposed)"),
    (dict(cohorts=[], former_cohorts=[short(status="CANCELLED", members=0)]),
     "cohort cancelled (it was to start 2025-03-24)"),
    (dict(cohorts=[], former_cohorts=[short(status="COMPLETED", members=0, end_date=date(2025, 8, 4))]),
     "cohort completed on 2025-08-04"),
    (dict(cohorts=[short()], today=DAY_AFTER),
     "never confirmed: its start date 2025-03-24 passed with 4 of a minimum 6 placed"),
    (dict(cohorts=[], former_cohorts=[short()], today=date(2025, 9, 1)),  # long past: out of the view too
     "never confirmed: its start date 2025-03-24 passed with 4 of a minimum 6 placed"),
    (dict(cohorts=[short(status="STARTED")], today=DAY_AFTER), "cohort started on 2025-03-24 with 4 of a minimum 6"),
    (dict(cohorts=[short(status="CONFIRMED")], today=DAY_AFTER),
     "cohort confirmed to start on 2025-03-24 with 4 of a minimum 6"),
    (dict(cohorts=[]), "cohort no longer found"),
])
def test_cleared_reasons_say_what_became_of_the_cohort(after, reason):
    alert = only(evaluate(short()))
    now = inputs(**after)
    changes = reconcile(rule.evaluate(now, thresholds()), active(alert))
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], now) == reason


def test_a_delivery_team_cohort_whose_start_passed_unconfirmed_is_not_cleared_as_proposed():
    """It never ran: the clear used to read "cohort proposed, starting 2025-03-24"."""
    alert = only(evaluate(short(origin="DELIVERY")))
    passed = inputs(cohorts=[short(origin="DELIVERY")], today=DAY_AFTER)
    [row] = reconcile(rule.evaluate(passed, thresholds()), active(alert)).cleared
    reason = rule.cleared(row, passed)
    assert "proposed" not in reason and reason.startswith("never confirmed")


# --- on a real engine: the sweep finds out what became of a cohort that left the view --------------

@pytest.fixture
def h(store, monkeypatch) -> Harness:
    for name in [n for n in os.environ if n.startswith("COHORTPLAN_ALERT_")]:
        monkeypatch.delenv(name)
    return Harness(store)


def plan_and_sweep(h: Harness, as_of: date) -> None:
    Planner(h.db.uow, CurrentPracticeAllocator(), h.rules, alerts=AlertSweep(h.rules, modules=(rule,))).plan(
        "RS", as_of)


def below_minimum_trail(h: Harness) -> list[tuple[str, str]]:
    return [(r["event_type"], json.loads(r["message"])["payload"]["reason"]) for r in h.outbox()
            if r["event_type"].startswith("alert.") and json.loads(r["message"])["payload"]["kind"] == rule.KIND]


def delivery_team_cohort(h: Harness) -> None:
    h.feed(*[line for i in range(2) for line in person_with_referral(f"X{i:06d}")],
           cohort_planned("C1", date(2025, 3, 24), min_size=4), facilitator("F1"), facilitator("F2"))
    plan_and_sweep(h, date(2025, 3, 3))


def test_a_delivery_team_cohort_never_confirmed_clears_as_never_confirmed_once_its_start_passes(h):
    delivery_team_cohort(h)
    plan_and_sweep(h, date(2025, 3, 25))
    assert below_minimum_trail(h)[1] == (
        "alert.cleared", "never confirmed: its start date 2025-03-24 passed with 0 of a minimum 4 placed")


def test_a_cancelled_cohort_clears_as_cancelled(h):
    delivery_team_cohort(h)
    h.feed(event("cohort.cancelled", key="RS", cohort_id="C1", reason="too few referrals"))
    plan_and_sweep(h, date(2025, 3, 4))
    assert below_minimum_trail(h)[1] == ("alert.cleared", "cohort cancelled (it was to start 2025-03-24)")


def test_one_more_member_is_an_update():
    alert = only(evaluate(short()))
    [(now, before)] = reconcile(evaluate(short(members=5)), active(alert)).updated
    assert before["numbers"]["members"] == 4 and now.numbers["members"] == 5 and "1 short" in now.reason


def test_becomes_critical_in_the_last_week_as_an_update():
    alert = only(evaluate(short()))
    changes = reconcile(evaluate(short(), today=date(2025, 3, 17)), active(alert))
    assert changes.raised == [] and changes.cleared == []
    [(now, before)] = changes.updated
    assert before["severity"] == "WARNING" and now.severity is Severity.CRITICAL
    assert now.numbers == alert.numbers and now.act_by == alert.act_by


def test_an_unchanged_short_cohort_in_its_last_week_is_not_updated_next_day():
    """act_by is today inside the last week; the calendar moving it is not an update."""
    c = short(start_date=date(2025, 3, 7))
    alert = only(evaluate(c))
    assert alert.severity is Severity.CRITICAL and alert.act_by == TODAY
    assert not reconcile(evaluate(c, today=date(2025, 3, 4)), active(alert))
