"""Issue 18, classes 2 and 3: the delivery team's confirmation is applied for everything it can be,
and a cohort's definition either applies (members re-checked) or is refused where people look. The store is in
memory here; tests/integration/on_databases runs this module on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.alerts.sweep import AlertSweep
from engine.domain.statuses import ReferralStatus as S
from engine.handlers.confirmations import claims, refusals
from engine.invariants import check_region
from tests.support.events import cohort_planned, event, facilitator, person_with_referral
from tests.unit.engine.harness import Harness

START = date(2025, 3, 3)
AT = datetime(2025, 2, 12, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def waiting(h: Harness, n: int, first: int = 0, sex: str = "MALE") -> list[str]:
    h.feed(*[line for i in range(first, first + n) for line in person_with_referral(f"X{i:06d}", sex=sex)])
    return [f"REF-X{i:06d}" for i in range(first, first + n)]


def confirm(h: Harness, cohort_id: str, members: list[str], at: datetime = AT):
    return h.feed(event("cohort.confirmed", at, key="RS", cohort_id=cohort_id, facilitator_ids=["F1", "F2"],
                        members=members))


def refused(h: Harness, as_of: date = AT.date()) -> dict[str, dict]:
    AlertSweep(h.rules).sweep(h.db.uow, "RS", as_of)
    with h.db.uow() as uow:
        return {row["subject_id"]: row for row in uow.active_alerts("RS", kinds=["confirmation.member_refused"]).values()}


def test_class2a_a_confirmation_takes_a_member_off_the_plans_proposal_elsewhere(h):
    ids = waiting(h, 8)
    h.feed(cohort_planned("C1", START), cohort_planned("C2", START + timedelta(days=1), slots=((1, "10:00"),)),
           facilitator("F1"), facilitator("F2"), facilitator("F3"), facilitator("F4"))
    h.plan(date(2025, 2, 3))
    proposed = {rid: h.referral(rid).cohort_id for rid in ids}
    mover = next(rid for rid, cid in sorted(proposed.items()) if cid == "C1")
    result = confirm(h, "C2", [mover])
    assert result.dead_lettered == 0
    assert h.referral(mover).cohort_id == "C2" and h.allocation(mover).source == "DELIVERY"
    changed = [json.loads(x["message"])["payload"] for x in h.outbox("allocation.changed")]
    assert any(c["referral_id"] == mover and c["previous_cohort_id"] == "C1" for c in changed)
    h.plan(date(2025, 2, 4))
    assert h.referral(mover).cohort_id == "C2"  # the plan never undoes the delivery team's placement


def test_class2b_members_over_the_maximum_are_refused_one_alert_each_and_never_removed_later(h):
    ids = waiting(h, 5)
    h.feed(event("cohort.planned", AT - timedelta(days=1), key="RS", cohort_id="C1", region_code="RS",
                 programme_code="BC-M", office_code="RS-P01-O1", pdu_code="RS-P01", sex="MALE",
                 slots=[{"weekday": 0, "start": "10:00", "period": "DAYTIME"}], start_date=START.isoformat(),
                 min_size=2, max_size=3), facilitator("F1"), facilitator("F2"))
    confirm(h, "C1", ids)
    placed = [rid for rid in ids if h.referral(rid).cohort_id == "C1"]
    assert placed == ids[:3]
    alerts = refused(h)
    assert sorted(alerts) == [f"C1/{rid}" for rid in ids[3:]]
    assert all("max-size" in a["reason"] for a in alerts.values())
    outcome = h.plan(date(2025, 2, 13))
    assert outcome.removed == 0 and [rid for rid in ids if h.referral(rid).cohort_id == "C1"] == ids[:3]


def test_class2c_an_unknown_member_does_not_stop_the_rest_of_the_confirmation(h):
    ids = waiting(h, 6)
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    result = confirm(h, "C1", ids + ["REF-NEVER-SEEN"])
    assert result.parked == 0 and result.dead_lettered == 0
    with h.db.uow() as uow:
        cohort = uow.cohorts.get("C1")
        assert cohort.status == "CONFIRMED" and cohort.facilitator_ids == ("F1", "F2")
    assert all(h.referral(rid).cohort_id == "C1" for rid in ids)
    alert = refused(h)["C1/REF-NEVER-SEEN"]
    assert "unknown" in alert["reason"] and "C1" in alert["reason"]


def test_class2_unlawful_members_are_refused_with_the_rule_the_lawful_ones_placed(h):
    men = waiting(h, 6)
    women = waiting(h, 1, first=50, sex="FEMALE")
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    h.feed(event("person.updated", AT - timedelta(hours=1), crn="X000001", non_associations=["X000000"]))
    confirm(h, "C1", men + women)
    assert h.referral(men[0]).cohort_id == "C1" and h.referral(men[1]).cohort_id is None
    assert h.referral(women[0]).cohort_id is None
    alerts = refused(h)
    assert "non-association" in alerts[f"C1/{men[1]}"]["reason"] and "sex" in alerts[f"C1/{women[0]}"]["reason"]
    with h.db.uow() as uow:
        assert check_region(uow, "RS", AT.date(), h.rules).violations == []


def test_refusals_read_alone_equal_those_of_a_unit_of_work_that_read_every_confirmation(h):
    """An explanation reads only the region's refusals; the ingest reads every confirmation at once: the same."""
    men = waiting(h, 6)
    women = waiting(h, 1, first=50, sex="FEMALE")
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    confirm(h, "C1", men + women + ["REF-NEVER-SEEN"])
    with h.db.uow() as uow:
        alone = refusals(uow, "RS")
    with h.db.uow() as uow:
        claims(uow, "RS")  # the ingest's way: every region's claims and refusals read and parsed
        assert refusals(uow, "RS") == alone
        assert refusals(uow, "RW") == {}
    assert sorted(m["referral_id"] for m in alone["C1"]) == sorted([women[0], "REF-NEVER-SEEN"])


def test_class3_a_changed_definition_applies_and_members_are_rechecked(h):
    ids = waiting(h, 6)
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    confirm(h, "C1", ids)
    h.feed(event("cohort.planned", AT + timedelta(hours=1), key="RS", cohort_id="C1", region_code="RS",
                 programme_code="BC-M", office_code="RS-P01-O1", pdu_code="RS-P01", sex="FEMALE",
                 slots=[{"weekday": 0, "start": "10:00", "period": "DAYTIME"}], start_date=START.isoformat()))
    with h.db.uow() as uow:
        assert uow.cohorts.get("C1").sex == "FEMALE"
    # Men on a women's group: the safety rule beats the confirmation; each release is alerted, not silent.
    assert all(h.referral(rid).cohort_id is None and h.referral(rid).status == S.AWAITING_ALLOCATION for rid in ids)
    alerts = refused(h)
    assert sorted(alerts) == [f"C1/{rid}" for rid in ids] and all("sex" in a["reason"] for a in alerts.values())
    removed = [json.loads(x["message"])["payload"] for x in h.outbox("allocation.removed")]
    assert sorted(r["referral_id"] for r in removed) == ids and all("sex" in r["reason"] for r in removed)


def test_class3_a_definition_changed_back_gives_the_delivery_teams_members_their_places_again(h):
    ids = waiting(h, 6)
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    confirm(h, "C1", ids)
    for hours, sex in ((1, "FEMALE"), (2, "MALE")):
        h.feed(event("cohort.planned", AT + timedelta(hours=hours), key="RS", cohort_id="C1", region_code="RS",
                     programme_code="BC-M", office_code="RS-P01-O1", pdu_code="RS-P01", sex=sex,
                     slots=[{"weekday": 0, "start": "10:00", "period": "DAYTIME"}], start_date=START.isoformat()))
    assert all(h.referral(rid).cohort_id == "C1" and h.allocation(rid).source == "DELIVERY" for rid in ids)
    assert refused(h) == {}


def test_class3_a_cohort_that_cannot_be_met_is_a_dead_letter(h):
    h.feed(event("cohort.planned", AT, key="RS", cohort_id="C9", region_code="RS", programme_code="BC-M",
                 office_code="RS-P01-O1", pdu_code="RS-P01", sex="MALE",
                 slots=[{"weekday": 0, "start": "10:00", "period": "DAYTIME"}], start_date=START.isoformat(),
                 min_size=10, max_size=2))
    letters = h.dead_letters()
    assert len(letters) == 1 and "min_size 10 is above max_size 2" in letters[0]["reason"]


def test_class3_redefining_a_started_cohort_is_refused(h):
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    h.feed(event("cohort.confirmed", datetime(2025, 3, 4, tzinfo=timezone.utc), key="RS", cohort_id="C1",
                 facilitator_ids=["F1", "F2"], members=[]))
    h.plan(date(2025, 3, 4))  # the plan moves the cohort along its calendar: started
    h.feed(event("cohort.planned", datetime(2025, 3, 5, tzinfo=timezone.utc), key="RS", cohort_id="C1",
                 region_code="RS", programme_code="BBR", office_code="RS-P01-O1", pdu_code="RS-P01", sex="MALE",
                 slots=[{"weekday": 0, "start": "10:00", "period": "DAYTIME"}], start_date=START.isoformat()))
    letters = h.dead_letters()
    assert len(letters) == 1 and "cannot be redefined" in letters[0]["reason"]


def test_class2_a_delivery_place_that_ends_inside_the_catch_up_margin_is_kept_and_finishes_late_alerts(h):
    ids = waiting(h, 1)
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    confirm(h, "C1", ids)
    with h.db.uow() as uow:
        end = uow.cohorts.get("C1").end_date
    h.feed(event("sentence.amended", AT + timedelta(days=1), crn="X000000", sentence_id="S-X000000",
                 expected_end_date=(end + timedelta(days=7)).isoformat()))
    assert h.referral(ids[0]).cohort_id == "C1"  # people made the place: kept
    AlertSweep(h.rules).sweep(h.db.uow, "RS", AT.date() + timedelta(days=1))
    with h.db.uow() as uow:
        late = uow.active_alerts("RS", kinds=["allocation.finishes_late"])
        broken = uow.active_alerts("RS", kinds=["place.breaks_rule"])
    assert list(late) == [f"allocation.finishes_late:referral:{ids[0]}"] and broken == {}


def test_class4_a_person_who_moves_out_of_the_region_loses_the_plans_place_and_joins_the_new_list(h):
    waiting(h, 8)
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    h.plan(date(2025, 2, 3))
    assert h.referral("REF-X000002").cohort_id == "C1"  # a movable place, outside the freeze window
    h.feed(event("person.updated", AT, crn="X000002", region_code="RN", pdu_code="RN-P01"))
    referral = h.referral("REF-X000002")
    assert referral.cohort_id is None and referral.status == S.AWAITING_ALLOCATION
    removed = [json.loads(x["message"])["payload"] for x in h.outbox("allocation.removed")]
    assert any(r["referral_id"] == "REF-X000002" and "region" in r["reason"] for r in removed)
    with h.db.uow() as uow:
        assert check_region(uow, "RS", AT.date(), h.rules).violations == []
        assert "REF-X000002" in [r.referral_id for r in uow.referrals.where(status=S.AWAITING_ALLOCATION)]


def test_class4_a_delivery_team_place_of_a_person_who_moved_away_is_released_and_alerted(h):
    ids = waiting(h, 6)
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    confirm(h, "C1", ids)
    h.feed(event("person.updated", AT + timedelta(hours=2), crn="X000003", region_code="RN", pdu_code="RN-P01"))
    assert h.referral("REF-X000003").cohort_id is None
    alert = refused(h)["C1/REF-X000003"]
    assert "region" in alert["reason"] and "C1" in alert["reason"]
    with h.db.uow() as uow:
        assert "REF-X000003" in [r.referral_id for r in uow.referrals.where(status=S.AWAITING_ALLOCATION)]


def on_the_programme(h: Harness) -> None:
    """Six people confirmed on C1 by the delivery team; REF-X000003 attended its first session."""
    ids = waiting(h, 6)
    h.feed(cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    confirm(h, "C1", ids)
    h.feed(event("attendance.recorded", AT + timedelta(days=19), key="RS", cohort_id="C1",
                 referral_id="REF-X000003", session_number=1, session_date=START, outcome="ATTC"))


def test_class4_a_running_place_of_a_person_who_moved_away_is_flagged(h):
    on_the_programme(h)
    h.feed(event("person.updated", AT + timedelta(days=20), crn="X000003", region_code="RN", pdu_code="RN-P01"))
    assert h.referral("REF-X000003").cohort_id == "C1"
    AlertSweep(h.rules).sweep(h.db.uow, "RS", START)
    with h.db.uow() as uow:
        alert = uow.active_alerts("RS", kinds=["place.breaks_rule"])["place.breaks_rule:referral:REF-X000003"]
    assert "region" in alert["reason"] and "hand the case over" in alert["reason"]


def test_class2_a_member_who_left_the_programme_is_not_placed_again_by_the_old_confirmation(h):
    """Found by the Kafka end-to-end test: a claim is spent once the member leaves the programme."""
    on_the_programme(h)
    h.feed(event("referral.status_changed", AT + timedelta(days=40), crn="X000003", referral_id="REF-X000003",
                 to_status="AWAITING_ASSESSMENT", reason="stopped attending: 2 unacceptable absences"))
    h.feed(event("referral.assessed", AT + timedelta(days=60), crn="X000003", referral_id="REF-X000003",
                 outcome="SUITABLE", pathway="MODERATE", ogrs3=80.0, need_score=4))
    assert h.referral("REF-X000003").status == S.AWAITING_ALLOCATION and h.referral("REF-X000003").cohort_id is None
    assert "C1/REF-X000003" not in refused(h, (AT + timedelta(days=60)).date())
