"""place.breaks_rule: a held place breaks a rule after the facts under it changed, or was removed for it.

CRITICAL when the place is kept (people made it, or the programme is running) and the treatment manager
decides; WARNING when the plan's own place is moved by the next plan or was removed at once."""
from __future__ import annotations

from datetime import date

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import place_breaks_rule as rule
from engine.domain.placement import ACTION, Rule
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
    stored,
    thresholds,
)

START = date(2025, 3, 24)


def finding(rule_: str = "sex", remedy: str = "FLAG", **overrides) -> dict:
    values = dict(referral_id="REF-1", crn=CRN, cohort_id="C1", rule=rule_,
                  detail="person recorded as FEMALE, cohort is MALE", remedy=remedy, region_code=REGION)
    values.update(overrides)
    return values


def removal(**overrides) -> dict:
    values = dict(region_code=REGION, crn=CRN, cohort_id="C1", rules=["non-association"],
                  detail="non-association: non-associated with X000006 (referral REF-6)")
    values.update(overrides)
    return values


def placed(**overrides):
    return referral(**{"status": "SCHEDULED", "cohort_id": "C1", **overrides})


def evaluate(breaches=(), removed=None, referrals=(placed(),), cohorts=(cohort(start_date=START),), **kw):
    return rule.evaluate(inputs(place_breaches=tuple(breaches), removed_places=removed or {},
                                referrals=referrals, cohorts=cohorts, **kw), thresholds())


def test_a_kept_place_raises_a_critical_naming_the_rule_and_what_to_do():
    alert = only(evaluate([finding()]))
    assert alert.kind == "place.breaks_rule" == rule.KIND and rule.SCOPE == "region"
    assert alert.severity is Severity.CRITICAL
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("referral", "REF-1", REGION)
    assert (alert.pdu_code, alert.key) == (PDU, CRN)
    assert alert.act_by == START  # before the group starts
    assert dict(alert.numbers) == {"cohort_id": "C1", "rules": "sex", "action": "kept"}
    assert alert.reason == (
        "place on cohort C1 breaks sex (sex: person recorded as FEMALE, cohort is MALE); kept because the "
        "delivery team placed them or the programme is running — " + ACTION[Rule.SEX])
    assert_no_crn(alert)


@pytest.mark.parametrize("broken", [r for r in Rule if r is not Rule.DEADLINE])
def test_a_kept_place_asks_for_the_action_of_its_rule(broken):
    alert = only(evaluate([finding(str(broken), detail="why")]))
    assert alert.severity is Severity.CRITICAL and alert.numbers["rules"] == str(broken)
    assert alert.reason.endswith(ACTION[broken]) and f"{broken}: why" in alert.reason


def test_a_kept_place_in_a_running_group_acts_by_today():
    alert = only(evaluate([finding()], cohorts=[cohort(start_date=date(2025, 2, 3), status="STARTED")]))
    assert alert.act_by == TODAY


def test_a_kept_place_whose_cohort_is_out_of_view_acts_by_today_and_has_no_pdu_without_the_referral():
    alert = only(evaluate([finding()], referrals=(), cohorts=()))
    assert alert.act_by == TODAY and alert.pdu_code is None and alert.key == CRN


def test_the_plans_own_place_raises_a_warning_that_the_next_plan_moves_the_person():
    alert = only(evaluate([finding("non-association", "REMOVE", detail="non-associated with X000006 (referral REF-6)")]))
    assert alert.severity is Severity.WARNING
    assert dict(alert.numbers) == {"cohort_id": "C1", "rules": "non-association", "action": "moving"}
    assert alert.reason == ("place on cohort C1 breaks non-association (non-association: non-associated with "
                            "X000006 (referral REF-6)); the next plan moves the person to a group they may join")
    assert "kept" not in alert.reason


def test_several_broken_rules_of_one_place_make_one_alert_naming_them_all():
    found = [finding("sex"), finding("office", detail="cannot attend office RS-P01-O1"),
             finding("availability", detail="not available for weekday 0 daytime")]
    alert = only(evaluate(found))
    assert alert.numbers["rules"] == "availability,office,sex"
    assert "breaks availability, office, sex (" in alert.reason
    for detail in ("sex: person recorded as FEMALE", "office: cannot attend office RS-P01-O1",
                   "availability: not available for weekday 0 daytime"):
        assert detail in alert.reason
    assert alert.reason.endswith("; ".join(ACTION[r] for r in (Rule.AVAILABILITY, Rule.OFFICE, Rule.SEX)))


def test_one_alert_per_referral():
    found = [finding(referral_id="REF-2", crn="X000002"), finding("region", "REMOVE", detail="moved")]
    alerts = evaluate(found, referrals=(placed(), placed(referral_id="REF-2", crn="X000002")))
    assert [(a.subject_id, a.severity, a.key) for a in alerts] == [
        ("REF-1", Severity.WARNING, CRN), ("REF-2", Severity.CRITICAL, "X000002")]


def test_a_kept_place_that_only_finishes_late_is_left_to_allocation_finishes_late():
    late = finding("deadline", detail="cohort ends 2025-08-11, after the latest end 2025-06-30")
    assert evaluate([late]) == []
    alert = only(evaluate([late, finding("sex")]))  # another rule broken: raised, the deadline left out
    assert alert.numbers["rules"] == "sex" and "deadline" not in alert.reason


def test_a_held_place_that_only_finishes_late_is_left_to_allocation_finishes_late():
    """One alert per condition: allocation.finishes_late already tells whether the next plan moves them."""
    assert evaluate([finding("deadline", "REMOVE", detail="cohort ends late")]) == []
    assert evaluate([finding("deadline", "FLAG", detail="cohort ends late")]) == []


@pytest.mark.parametrize("remedy", ["REMOVE", "FLAG"])
def test_a_held_place_given_up_is_not_said_to_keep_every_rule(remedy):
    alert = only(evaluate([finding(remedy=remedy)]))
    now = inputs(referrals=[referral(status="AWAITING_ALLOCATION", cohort_id=None)])
    changes = reconcile(rule.evaluate(now, thresholds()), active(alert))
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], now) == "no longer holds a place"


def test_a_removed_place_raises_a_warning_to_tell_the_person():
    waiting = referral(status="AWAITING_ALLOCATION", cohort_id=None)
    alert = only(evaluate(removed={"REF-1": removal()}, referrals=(waiting,)))
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.key, alert.pdu_code) == ("referral", "REF-1", CRN, PDU)
    assert alert.act_by == TODAY
    assert dict(alert.numbers) == {"cohort_id": "C1", "rules": "non-association", "action": "removed"}
    assert alert.reason == (
        "place on cohort C1 removed: non-association: non-associated with X000006 (referral REF-6); tell the "
        "person the place is withdrawn — they are back on the waiting list and the next plan looks for another group")
    assert_no_crn(alert)


def test_a_removal_for_several_rules_lists_them():
    alert = only(evaluate(removed={"REF-1": removal(rules=["sex", "deadline"], detail="sex: x; deadline: y")},
                          referrals=()))
    assert alert.numbers["rules"] == "sex,deadline" and "removed: sex: x; deadline: y" in alert.reason
    assert alert.pdu_code is None


def test_a_place_breaking_a_rule_now_stands_over_an_earlier_removal():
    found = [finding(cohort_id="C2", remedy="REMOVE")]
    alert = only(evaluate(found, removed={"REF-1": removal()}, referrals=(placed(cohort_id="C2"),)))
    assert alert.numbers == {"cohort_id": "C2", "rules": "sex", "action": "moving"}


def test_a_removal_is_still_news_when_only_a_kept_late_finish_is_found_now():
    late = finding("deadline", cohort_id="C2", detail="cohort ends late")
    alert = only(evaluate([late], removed={"REF-1": removal()}, referrals=(placed(cohort_id="C2"),)))
    assert alert.numbers["action"] == "removed" and alert.numbers["cohort_id"] == "C1"


def test_quiet_when_every_place_keeps_every_rule():
    assert evaluate() == []


def test_does_not_repeat_and_updates_when_a_kept_place_becomes_one_the_plan_moves():
    alert = only(evaluate([finding()]))
    open_ = active(alert)
    assert not reconcile(evaluate([finding()]), open_)
    assert not reconcile(evaluate([finding(detail="another wording")]), open_)  # the reason alone is no news

    [(now, before)] = reconcile(evaluate([finding(remedy="REMOVE")]), open_).updated
    assert before["severity"] == "CRITICAL" and now.severity is Severity.WARNING
    assert now.alert_id == alert.alert_id == "place.breaks_rule:referral:REF-1"

    [(now, _)] = reconcile(evaluate([finding(), finding("office", detail="x")]), open_).updated
    assert now.numbers["rules"] == "office,sex"


def test_a_removal_updates_the_alert_of_the_place_it_took():
    moving = only(evaluate([finding(remedy="REMOVE")]))
    after = evaluate(removed={"REF-1": removal(rules=["sex"])}, referrals=(referral(),))
    changes = reconcile(after, active(moving))
    assert changes.raised == [] and changes.cleared == []
    [(now, before)] = changes.updated
    assert before["numbers"]["action"] == "moving" and now.numbers["action"] == "removed"


def clear(alert, **after) -> tuple[list, str]:
    now = inputs(**after)
    changes = reconcile(rule.evaluate(now, thresholds()), active(alert))
    assert changes.raised == [] and changes.updated == []
    return [row["alert_id"] for row in changes.cleared], rule.cleared(changes.cleared[0], now)


@pytest.mark.parametrize("after, reason", [
    (dict(referrals=[placed()]), "the place keeps every rule again"),
    (dict(referrals=[placed(cohort_id="C2")]), "now placed on cohort C2, which keeps every rule"),
    (dict(referrals=[]), "the referral is closed or left the region"),
])
def test_cleared_reasons_of_a_held_place(after, reason):
    ids, why = clear(only(evaluate([finding()])), **after)
    assert ids == ["place.breaks_rule:referral:REF-1"] and why == reason


@pytest.mark.parametrize("after, reason", [
    (dict(referrals=[placed(cohort_id="C2")]), "now placed on cohort C2, which keeps every rule"),
    (dict(referrals=[referral()]), "a plan has considered the person again; see the deadline alerts"),
    (dict(referrals=[placed()]), "a plan has considered the person again"),  # the plan placed them back
    (dict(referrals=[]), "the referral is closed or left the region"),
])
def test_cleared_reasons_of_a_removed_place(after, reason):
    removed = only(evaluate(removed={"REF-1": removal()}, referrals=(referral(),)))
    ids, why = clear(removed, **after)
    assert ids == ["place.breaks_rule:referral:REF-1"] and why == reason


def test_cleared_reason_reads_the_stored_row():
    alert = only(evaluate([finding()]))
    assert rule.cleared(stored(alert), inputs(referrals=[placed(cohort_id="C3")])) == (
        "now placed on cohort C3, which keeps every rule")
