"""confirmation.member_refused: a member the delivery team confirmed on a cohort that cohortplan could not
place; one alert per (cohort, referral), CRITICAL when the cohort starts within a week."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import confirmation_member_refused as rule
from tests.unit.alerts.factories import (
    CRN,
    PDU,
    REGION,
    TODAY,
    active,
    assert_no_crn,
    cohort,
    inputs,
    only,
    referral,
    thresholds,
)

START = date(2025, 3, 24)


def refused(**overrides) -> dict:
    values = dict(cohort_id="C1", referral_id="REF-1", crn=CRN, rule="sex",
                  detail="person recorded as FEMALE, cohort is MALE")
    values.update(overrides)
    return values


def evaluate(members, cohorts=(cohort(start_date=START, status="CONFIRMED"),), referrals=(referral(),), **kw):
    return rule.evaluate(inputs(refused_members=tuple(members), cohorts=cohorts, referrals=referrals, **kw),
                         thresholds())


def test_raises_a_warning_naming_the_member_the_cohort_and_the_rule():
    alert = only(evaluate([refused()]))
    assert alert.kind == "confirmation.member_refused" == rule.KIND and rule.SCOPE == "region"
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("referral", "C1/REF-1", REGION)
    assert (alert.pdu_code, alert.key, alert.act_by) == (PDU, CRN, START)
    assert dict(alert.numbers) == {"cohort_id": "C1", "referral_id": "REF-1", "rule": "sex"}
    assert alert.reason == (
        "the delivery team confirmed referral REF-1 on cohort C1, but it was not placed (sex: person recorded as "
        "FEMALE, cohort is MALE); the rest of the cohort stands: correct the membership or the record, then "
        "re-send the confirmation")
    assert_no_crn(alert)


@pytest.mark.parametrize("start, severity, act_by", [
    (date(2025, 2, 24), Severity.CRITICAL, TODAY),  # already running
    (TODAY, Severity.CRITICAL, TODAY),
    (date(2025, 3, 10), Severity.CRITICAL, date(2025, 3, 10)),  # exactly 7 days
    (date(2025, 3, 11), Severity.WARNING, date(2025, 3, 11)),
])
def test_critical_when_the_cohort_starts_within_seven_days(start, severity, act_by):
    alert = only(evaluate([refused()], cohorts=[cohort(start_date=start, status="CONFIRMED")]))
    assert (alert.severity, alert.act_by) == (severity, act_by)


def test_one_alert_per_cohort_and_referral():
    members = [refused(), refused(detail="repeated"), refused(referral_id="REF-2", crn="X000002", rule="max-size",
                                                             detail="cohort C1 already has 12 people, maximum 12"),
               refused(cohort_id="C2", rule="programme", detail="x")]
    alerts = evaluate(members, cohorts=[cohort(start_date=START), cohort(cohort_id="C2", start_date=START)])
    assert [(a.subject_id, a.numbers["rule"], a.key) for a in alerts] == [
        ("C1/REF-1", "sex", CRN), ("C1/REF-2", "max-size", "X000002"), ("C2/REF-1", "programme", CRN)]
    assert "person recorded as FEMALE" in alerts[0].reason  # the first record of a pair stands


def test_an_unknown_referral_takes_the_cohorts_pdu_and_is_keyed_by_the_cohort():
    unknown = refused(referral_id="REF-404", crn=None, rule="unknown", detail="no such referral")
    alert = only(evaluate([unknown], cohorts=[cohort(start_date=START, pdu_code="RS-P02")], referrals=()))
    assert (alert.subject_id, alert.pdu_code, alert.key) == ("C1/REF-404", "RS-P02", "C1")
    assert "(unknown: no such referral)" in alert.reason


def test_a_cohort_out_of_view_is_a_warning_to_act_on_today():
    alert = only(evaluate([refused()], cohorts=()))
    assert (alert.severity, alert.act_by, alert.pdu_code) == (Severity.WARNING, TODAY, PDU)


def test_quiet_without_refused_members():
    assert evaluate([]) == []


def test_does_not_repeat_and_turns_critical_as_the_start_nears():
    alert = only(evaluate([refused()]))
    open_ = active(alert)
    assert not reconcile(evaluate([refused()]), open_)
    assert not reconcile(evaluate([refused(detail="reworded")]), open_)
    [(now, before)] = reconcile(evaluate([refused()], today=date(2025, 3, 17)), open_).updated
    assert before["severity"] == "WARNING" and now.severity is Severity.CRITICAL
    assert now.alert_id == alert.alert_id == "confirmation.member_refused:referral:C1/REF-1"


@pytest.mark.parametrize("after, reason", [
    (dict(referrals=[referral(status="SCHEDULED", cohort_id="C1")], cohorts=[cohort(start_date=START)]),
     "now placed on cohort C1"),
    (dict(referrals=[referral()], cohorts=[]), "cohort C1 is no longer open"),
    (dict(referrals=[referral(status="SCHEDULED", cohort_id="C2")], cohorts=[]), "cohort C1 is no longer open"),
    (dict(referrals=[referral()], cohorts=[cohort(start_date=START)]),
     "the referral closed"),
    (dict(referrals=[], cohorts=[cohort(start_date=START)]),
     "the referral closed"),
])
def test_cleared_reasons(after, reason):
    alert = only(evaluate([refused()]))
    now = inputs(**after)
    changes = reconcile(rule.evaluate(now, thresholds()), active(alert))
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], now) == reason
