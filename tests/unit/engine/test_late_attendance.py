"""Attendance that arrives out of event-time order with another topic's news (issue 16, a late producer).

Found by the broker-restart test (tests/integration/kafka/test_service.py): after the restart the delivery topic's
messages reached the worker before the referral topic's, three ``attendance.recorded`` were dead letters ("not a
member of cohort") and the end state differed from the ordered replay. The same arrivals drawn by the late-producer
property with a producer *days* late (tests/generative/test_late_producer.py) gave the three cases below; each ends
in the ordered replay's state with no dead letter.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.domain.statuses import ReferralStatus as S
from tests.support.events import T0, cohort_planned, event, facilitator, person_with_referral
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_delivery_facts import AT, START, confirm, waiting


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def confirmed(h: Harness, assessed_last: bool = True) -> list[str]:
    """Six people confirmed on C1 (they start on START); the last one's assessment has not arrived when
    ``assessed_last`` is False (its producer is late)."""
    ids = waiting(h, 5) + [f"REF-X{5:06d}"]
    h.feed(*person_with_referral("X000005", assessed=assessed_last), cohort_planned("C1", START), facilitator("F1"),
           facilitator("F2"))
    confirm(h, "C1", ids)
    return ids


def attendance(referral_id: str, session: int, day: date, outcome: str = "ATTC", final: bool = False) -> str:
    at = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    return event("attendance.recorded", at, key="RS", cohort_id="C1", referral_id=referral_id, session_number=session,
                 session_date=day, outcome=outcome, final_session=final)


def sessions(h: Harness, referral_id: str) -> list[tuple[int, str]]:
    with h.db.uow() as uow:
        return sorted((a.session_number, a.outcome) for a in uow.attendance_of([referral_id]))


def test_an_attendance_before_the_assessment_that_makes_the_place_lawful_waits_for_the_place(h):
    confirmed(h, assessed_last=False)
    late = "REF-X000005"
    assert h.referral(late).cohort_id is None  # its claim is refused: the referral is awaiting assessment
    result = h.feed(attendance(late, 1, START))
    assert (result.parked, result.dead_lettered) == (1, 0)
    result = h.feed(event("referral.assessed", T0 + timedelta(days=20), crn="X000005", referral_id=late,
                          outcome="SUITABLE", pathway="MODERATE", ogrs3=80.0, need_score=4))
    assert (result.unparked, result.dead_lettered) == (1, 0)
    assert h.referral(late).cohort_id == "C1" and h.referral(late).status == S.ON_PROGRAMME
    assert sessions(h, late) == [(1, "ATTC")]
    assert h.dead_letters() == []


def test_an_attendance_of_a_member_whose_claim_stays_refused_expires_naming_the_place_it_waited_for(h):
    confirmed(h, assessed_last=False)
    h.feed(attendance("REF-X000005", 1, START))
    h.feed(event("person.updated", datetime.combine(START, datetime.min.time(), timezone.utc) + timedelta(days=9),
                 crn="X000001", region_code="RS", pdu_code="RS-P01", sex="MALE"))  # moves the event clock on
    [letter] = h.dead_letters()
    assert "member:REF-X000005" in letter["reason"] and "confirmation.member_refused" in letter["reason"]


def test_an_absence_dated_before_the_status_change_that_took_the_referral_off_the_programme_is_recorded(h):
    confirmed(h)
    rid = "REF-X000003"
    h.feed(attendance(rid, 1, START))
    h.feed(event("referral.status_changed", AT + timedelta(days=28), crn="X000003", referral_id=rid,
                 to_status="AWAITING_ASSESSMENT", reason="reassessment due"))
    assert h.referral(rid).cohort_id is None
    result = h.feed(attendance(rid, 2, START + timedelta(days=2), outcome="UAAB"))  # dated before the change
    assert (result.applied, result.dead_lettered) == (1, 0)
    assert sessions(h, rid) == [(1, "ATTC"), (2, "UAAB")]
    assert h.referral(rid).status == S.AWAITING_ASSESSMENT and h.referral(rid).cohort_id is None


def test_a_post_programme_review_delivered_after_the_requirements_termination_an_hour_later_completes(h):
    confirmed(h)
    rid = "REF-X000002"
    review = START + timedelta(days=60)
    h.feed(attendance(rid, 1, START))
    ended = datetime.combine(review, datetime.min.time(), timezone.utc) + timedelta(hours=13)
    h.feed(event("requirement.terminated", ended, crn="X000002", requirement_id="RQ-X000002",
                 terminated_on=review, reason="COMPLETED"))
    assert h.referral(rid).status.closed and h.referral(rid).status != S.PROGRAMME_COMPLETE
    result = h.feed(attendance(rid, 27, review, final=True))  # 12:00, an hour before the termination
    assert (result.applied, result.dead_lettered) == (1, 0)
    assert h.referral(rid).status == S.PROGRAMME_COMPLETE
    assert h.referral(rid).history[-1].event_id and "event-time order" in h.referral(rid).history[-1].reason
