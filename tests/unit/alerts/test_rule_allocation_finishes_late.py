"""allocation.finishes_late: a held place whose cohort ends after the deadline less the margin."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import allocation_finishes_late as rule
from tests.unit.alerts.factories import (
    CRN,
    PDU,
    REGION,
    active,
    assert_no_crn,
    cohort,
    days,
    inputs,
    only,
    referral,
    thresholds,
)

START = date(2025, 3, 24)
END = date(2025, 8, 11)  # START + 20 weeks
DEADLINE = date(2025, 7, 14)
LATEST_END = date(2025, 6, 30)  # deadline less the 14-day margin


def placed(**overrides):
    values = dict(status="SCHEDULED", cohort_id="C1", deadline=DEADLINE, latest_end=LATEST_END,
                  latest_start=None)
    values.update(overrides)
    return referral(**values)


def c1(**overrides):
    return cohort(**{"start_date": START, "end_date": END, "status": "CONFIRMED", **overrides})


def evaluate(referrals, cohorts, **kw):
    return rule.evaluate(inputs(referrals=referrals, cohorts=cohorts, **kw), thresholds())


def test_raises_a_warning_while_the_next_plan_can_still_move_the_person():
    alert = only(evaluate([placed()], [c1()]))
    assert alert.kind == "allocation.finishes_late" == rule.KIND
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("referral", "REF-1", REGION)
    assert (alert.pdu_code, alert.key) == (PDU, CRN)
    assert alert.act_by == START  # before the group starts
    assert dict(alert.numbers) == {"cohort_id": "C1", "cohort_end": "2025-08-11", "latest_end": "2025-06-30",
                                   "fixed": 0}
    for fact in ("C1", "2025-08-11", "2025-06-30", "2025-07-14", "next plan"):
        assert fact in alert.reason
    assert_no_crn(alert)


@pytest.mark.parametrize("why", [
    dict(referral=dict(pinned=True)),
    dict(referral=dict(status="ON_PROGRAMME")),
    dict(cohort=dict(status="STARTED")),
])
def test_critical_when_the_place_is_fixed(why):
    alert = only(evaluate([placed(**why.get("referral", {}))], [c1(**why.get("cohort", {}))]))
    assert alert.severity is Severity.CRITICAL and alert.numbers["fixed"] == 1
    assert "fixed" in alert.reason and "extension" in alert.reason


def test_a_started_group_must_act_by_the_latest_end():
    started = c1(start_date=date(2025, 2, 3), end_date=date(2025, 7, 7), status="STARTED")
    alert = only(evaluate([placed(status="ON_PROGRAMME")], [started]))
    assert alert.severity is Severity.CRITICAL and alert.act_by == LATEST_END
    assert "2025-07-07" in alert.reason


def test_quiet_when_the_cohort_ends_exactly_on_the_latest_end():
    assert evaluate([placed()], [c1(end_date=LATEST_END)]) == []
    assert only(evaluate([placed()], [c1(end_date=LATEST_END + days(1))])).numbers["cohort_end"] == "2025-07-01"


@pytest.mark.parametrize("referrals, cohorts", [
    ([placed(status="AWAITING_ALLOCATION")], [c1()]),  # not holding a place
    ([placed(cohort_id=None)], [c1()]),
    ([placed(latest_end=None, deadline=None)], [c1()]),  # no deadline
    ([placed(cohort_id="C9")], [c1()]),  # its cohort is not in view (cancelled/completed)
])
def test_quiet_without_a_held_place_a_deadline_or_a_cohort(referrals, cohorts):
    assert evaluate(referrals, cohorts) == []


def test_clears_when_moved_to_an_earlier_cohort_and_does_not_repeat_while_unchanged():
    alert = only(evaluate([placed()], [c1()]))
    open_ = active(alert)
    assert not reconcile(evaluate([placed()], [c1()]), open_)
    assert not reconcile(evaluate([placed()], [c1()], today=date(2025, 3, 10)), open_)

    moved = inputs(referrals=[placed(cohort_id="C2")],
                   cohorts=[c1(), c1(cohort_id="C2", start_date=date(2025, 3, 10), end_date=date(2025, 6, 30))])
    changes = reconcile(rule.evaluate(moved, thresholds()), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["allocation.finishes_late:referral:REF-1"]
    assert rule.cleared(changes.cleared[0], moved) == "moved to cohort C2"


@pytest.mark.parametrize("after, reason", [
    (dict(referrals=[placed(deadline=date(2025, 9, 1), latest_end=date(2025, 8, 18))], cohorts=[c1()]),
     "the cohort now finishes by 2025-08-18"),
    (dict(referrals=[placed(status="AWAITING_ALLOCATION", cohort_id=None)], cohorts=[c1()]),
     "status now awaiting_allocation"),
    (dict(referrals=[], cohorts=[c1()]), "no longer holding a place"),
])
def test_cleared_reasons(after, reason):
    alert = only(evaluate([placed()], [c1()]))
    now = inputs(**after)
    changes = reconcile(rule.evaluate(now, thresholds()), active(alert))
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], now) == reason


def test_becomes_critical_when_the_group_starts():
    warning = only(evaluate([placed()], [c1()]))
    later = evaluate([placed(status="ON_PROGRAMME")], [c1(status="STARTED")], today=date(2025, 3, 24))
    changes = reconcile(later, active(warning))
    assert changes.raised == [] and changes.cleared == []
    [(now, before)] = changes.updated
    assert before["severity"] == "WARNING" and now.severity is Severity.CRITICAL
    assert now.alert_id == warning.alert_id and now.numbers["fixed"] == 1
    assert now.act_by == LATEST_END  # the group no longer starts after today
