"""breach.guidance: a second unacceptable absence within ``breach_window_days`` of the warning."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import breach_guidance as rule
from tests.unit.alerts.factories import (
    CRN,
    PDU,
    REGION,
    TODAY,
    absence,
    active,
    assert_no_crn,
    days,
    inputs,
    only,
    referral,
    thresholds,
)

WARNED = date(2025, 2, 3)
SECOND = date(2025, 2, 17)


def attending(**overrides):
    return referral(**{"status": "ON_PROGRAMME", "cohort_id": "C1", "status_since": date(2025, 1, 13),
                       **overrides})


def evaluate(absence_dates, *referrals, **kw):
    return rule.evaluate(inputs(referrals=referrals or [attending()],
                                absences=[absence(d) for d in absence_dates], **kw), thresholds())


def test_raises_critical_on_the_second_unacceptable_absence():
    alert = only(evaluate([WARNED, SECOND]))
    assert alert.kind == "breach.guidance" == rule.KIND
    assert alert.severity is Severity.CRITICAL
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("referral", "REF-1", REGION)
    assert (alert.pdu_code, alert.key) == (PDU, CRN)
    assert alert.act_by == SECOND + days(14)
    assert dict(alert.numbers) == {"warned_on": "2025-02-03", "second_absence_on": "2025-02-17",
                                   "unacceptable_absences": 2, "window_days": 365}
    assert alert.reason == ("unacceptable absence on 2025-02-17 within 365 days of the warning of 2025-02-03 "
                            "(2 since): start breach action")
    assert_no_crn(alert)


def test_a_scheduled_person_counts_too_and_act_days_follow_settings():
    i = inputs(referrals=[attending(status="SCHEDULED")], absences=[absence(WARNED), absence(SECOND)])
    assert only(rule.evaluate(i, thresholds(breach_act_days=7))).act_by == SECOND + days(7)


def test_quiet_after_a_first_absence_only():
    assert evaluate([SECOND]) == []


def test_quiet_for_absences_on_the_same_day():
    assert evaluate([SECOND, SECOND]) == []


def test_quiet_when_the_breach_is_already_raised():
    assert evaluate([WARNED, SECOND], attending(status="BREACH", status_since=date(2025, 2, 20))) == []


@pytest.mark.parametrize("status", ["AWAITING_ALLOCATION", "DEFERRED", "RECALL"])
def test_quiet_when_no_longer_holding_a_place(status):
    assert evaluate([WARNED, SECOND], attending(status=status, cohort_id=None)) == []


def test_quiet_for_absences_of_someone_not_in_view():
    assert evaluate([WARNED, SECOND], referral(referral_id="REF-2", status="ON_PROGRAMME", cohort_id="C1")) == []


def test_future_absences_do_not_count():
    assert evaluate([WARNED, TODAY + days(1)]) == []


def test_the_second_absence_exactly_a_window_after_the_warning_triggers():
    warned = date(2024, 3, 3)
    alert = only(evaluate([warned, warned + days(365)]))
    assert alert.numbers["warned_on"] == "2024-03-03" and alert.numbers["second_absence_on"] == "2025-03-03"


def test_a_second_absence_beyond_the_window_starts_a_new_warning_instead():
    warned = date(2024, 1, 8)
    lapsed = warned + days(366)  # 2025-01-08
    assert evaluate([warned, lapsed]) == []
    alert = only(evaluate([warned, lapsed, date(2025, 2, 10)]))
    assert alert.numbers == {"warned_on": "2025-01-08", "second_absence_on": "2025-02-10",
                             "unacceptable_absences": 2, "window_days": 365}
    assert "2025-01-08" in alert.reason and "2024-01-08" not in alert.reason


def test_the_window_follows_the_threshold():
    assert rule.evaluate(inputs(referrals=[attending()], absences=[absence(WARNED), absence(SECOND)]),
                         thresholds(breach_window_days=13)) == []


def test_quiet_once_the_second_absence_is_older_than_the_window():
    assert evaluate([date(2023, 12, 4), date(2024, 3, 1)]) == []  # 2024-03-01 < 2024-03-03
    assert only(evaluate([date(2023, 12, 4), date(2024, 3, 3)])).numbers["second_absence_on"] == "2024-03-03"


def test_clears_when_the_breach_is_raised_and_does_not_repeat_while_unchanged():
    alert = only(evaluate([WARNED, SECOND]))
    open_ = active(alert)
    assert not reconcile(evaluate([WARNED, SECOND]), open_)
    assert not reconcile(evaluate([WARNED, SECOND], today=date(2025, 3, 10)), open_)

    breached = inputs(referrals=[attending(status="BREACH", status_since=date(2025, 3, 5))],
                      absences=[absence(WARNED), absence(SECOND)])
    changes = reconcile(rule.evaluate(breached, thresholds()), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["breach.guidance:referral:REF-1"]
    assert rule.cleared(changes.cleared[0], breached) == "breach raised on 2025-03-05"


@pytest.mark.parametrize("after, reason", [
    (dict(referrals=[]), "referral closed or no longer in this region"),
    (dict(referrals=[attending(status="RETURN_TO_COURT", cohort_id=None)]), "status now return_to_court"),
])
def test_cleared_reasons(after, reason):
    alert = only(evaluate([WARNED, SECOND]))
    now = inputs(absences=[absence(WARNED), absence(SECOND)], **after)
    changes = reconcile(rule.evaluate(now, thresholds()), active(alert))
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], now) == reason


def test_a_third_absence_is_an_update_with_the_count():
    alert = only(evaluate([WARNED, SECOND]))
    changes = reconcile(evaluate([WARNED, SECOND, date(2025, 2, 24)]), active(alert))
    assert changes.raised == [] and changes.cleared == []
    [(now, before)] = changes.updated
    assert before["numbers"]["unacceptable_absences"] == 2 and now.numbers["unacceptable_absences"] == 3
    assert now.numbers["second_absence_on"] == "2025-02-17" and now.act_by == alert.act_by
    assert "(3 since)" in now.reason


def test_an_old_lapsed_trigger_does_not_hide_a_fresh_one():
    alert = only(evaluate([date(2023, 6, 1), date(2023, 6, 15), WARNED, SECOND]))
    assert alert.numbers["warned_on"] == "2025-02-03" and alert.numbers["second_absence_on"] == "2025-02-17"
