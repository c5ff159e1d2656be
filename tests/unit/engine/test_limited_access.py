"""Limited-access cases from person.updated v2: stored per crn, replaced by a newer rule, never by an older
one, kept by v1 updates, joined into the target of a merge (engine/handlers/access.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.domain.access import LimitedAccess
from tests.support.events import T0, event, person_with_referral
from tests.unit.engine.harness import Harness


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def rules(h: Harness) -> dict[str, LimitedAccess]:
    with h.db.uow() as uow:
        return {crn: rule for crn, (rule, _) in uow.access_rules().items()}


def limit(crn: str, at, restrictions=(), exclusions=(), **fields) -> str:
    return event("person.updated", at, crn=crn, limited_access={"restrictions": list(restrictions),
                                                                "exclusions": list(exclusions)}, **fields)


def test_a_restriction_and_an_exclusion_arrive_with_the_person_and_are_kept(h):
    result = h.feed(limit("X000001", T0, ["pp.user-1"], ["staff.user-9"], region_code="RS", pdu_code="RS-P01"))
    assert result.applied == 1
    rule = rules(h)["X000001"]
    assert rule.may_see("pp.user-1") and not rule.may_see("staff.user-9") and not rule.may_see("tm.user-2")
    with h.db.uow() as uow:
        assert uow.people.get("X000001").region_code == "RS"  # the rest of the update applies as before


def test_an_update_without_a_rule_keeps_it_and_an_empty_rule_lifts_it(h):
    h.feed(limit("X000001", T0, exclusions=["staff.user-9"]))
    h.feed(event("person.updated", T0 + timedelta(hours=1), crn="X000001", pdu_code="RS-P02"))
    assert not rules(h)["X000001"].may_see("staff.user-9")
    h.feed(limit("X000001", T0 + timedelta(hours=2)))
    assert rules(h)["X000001"].may_see("staff.user-9") and not rules(h)["X000001"].limited


def test_an_older_rule_arriving_late_changes_nothing(h):
    h.feed(limit("X000001", T0 + timedelta(hours=2), ["pp.user-1"]))
    h.feed(limit("X000001", T0, exclusions=["staff.user-9"]))
    assert rules(h)["X000001"] == LimitedAccess.of("X000001", ["pp.user-1"])


def test_a_merge_keeps_the_limits_of_both_cases(h):
    h.feed(*person_with_referral("X000011"), event("person.updated", crn="X000012", region_code="RS"))
    h.feed(limit("X000011", T0 + timedelta(days=1), ["pp.user-1", "pp.user-2"], ["staff.user-9"]),
           limit("X000012", T0 + timedelta(days=1), ["pp.user-2", "pp.user-3"]))
    h.feed(event("case.merged", T0 + timedelta(days=30), source_crn="X000011", target_crn="X000012"))
    merged = rules(h)["X000012"]
    assert merged.may_see("pp.user-2")
    assert not any(merged.may_see(user) for user in ("pp.user-1", "pp.user-3", "staff.user-9", "tm.user-4"))


def test_a_rule_for_a_merged_away_crn_reaches_the_case_it_lives_under(h):
    h.feed(*person_with_referral("X000011"), event("person.updated", crn="X000012", region_code="RS"))
    h.feed(event("case.merged", T0 + timedelta(days=30), source_crn="X000011", target_crn="X000012"))
    h.feed(limit("X000011", T0 + timedelta(days=31), exclusions=["staff.user-9"]))
    assert not rules(h)["X000012"].may_see("staff.user-9") and rules(h)["X000012"].may_see("pp.user-1")


def test_two_cases_restricted_to_different_users_are_seen_by_nobody_once_merged():
    a, b = LimitedAccess.of("A", ["u1"]), LimitedAccess.of("B", ["u2"])
    joined = a.joined(b)
    assert joined.restricted and not joined.may_see("u1") and not joined.may_see("u2")
    assert LimitedAccess.of("A").joined(b).may_see("u2") and not LimitedAccess.of("A").joined(b).may_see("u1")
