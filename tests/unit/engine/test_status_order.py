"""A referral's status changes arriving out of event-time order end where the ordered replay ends.

Found by the fault suite (docs/RELIABILITY.md): a ``referral.assessed`` (suitable) arrived an hour before the
``referral.status_changed`` dated before it (Suitable but not ready → Awaiting assessment, reassessment due),
was refused as an impossible transition, and the earlier change then applied: the referral stayed in
Awaiting assessment where the ordered replay has it on the waiting list. On the in-memory store here (the
``h`` fixture of tests/unit/engine).
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine.domain.statuses import ReferralStatus as S
from tests.support.events import T0, event, person_with_referral
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_parked_expiry import tick

CRN, REF = "X000031", "REF-X000031"
ASSESSED = T0 + timedelta(days=20)


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def assessed(at, outcome: str = "SUITABLE", **extra) -> str:
    return event("referral.assessed", at, crn=CRN, referral_id=REF, outcome=outcome, pathway="MODERATE",
                 ogrs3=80.0, need_score=4, **extra)


def changed(at, to_status: str, **extra) -> str:
    return event("referral.status_changed", at, crn=CRN, referral_id=REF, to_status=to_status, **extra)


def not_ready_then_reassessed() -> tuple[list[str], str, str]:
    """The simulator's 'suitable but not ready' case: the world up to the first assessment, the reopening
    (status change) and the reassessment an hour later."""
    world = [*person_with_referral(CRN, assessed=False), assessed(ASSESSED, "SUITABLE_NOT_READY",
                                                                  ready_from=(T0 + timedelta(days=40)).date())]
    reopened = changed(T0 + timedelta(days=40, hours=1), "AWAITING_ASSESSMENT", reason="reassessment due",
                       ready_from=(T0 + timedelta(days=40)).date())
    return world, reopened, assessed(T0 + timedelta(days=40, hours=2))


def statuses(h: Harness) -> list[S]:
    return [c.to_status for c in h.referral(REF).history]


def test_a_reassessment_arriving_before_the_reopening_dated_before_it_waits_for_it_and_then_applies(h):
    world, reopened, reassessed = not_ready_then_reassessed()
    h.feed(*world)
    first = h.feed(reassessed)
    assert (first.parked, first.dead_lettered) == (1, 0)
    assert h.referral(REF).status == S.SUITABLE_NOT_READY
    second = h.feed(reopened)
    assert (second.applied, second.unparked, second.dead_lettered) == (2, 1, 0)
    assert h.referral(REF).status == S.AWAITING_ALLOCATION
    assert statuses(h) == [S.AWAITING_ASSESSMENT, S.SUITABLE_NOT_READY, S.AWAITING_ASSESSMENT,
                           S.AWAITING_ALLOCATION]
    assert h.dead_letters() == []


def test_the_same_pair_in_one_batch_ends_as_in_event_order(h):
    world, reopened, reassessed = not_ready_then_reassessed()
    in_order = Harness()
    in_order.feed(*world, reopened, reassessed)
    result = h.feed(*world, reassessed, reopened)
    assert result.dead_lettered == 0
    assert h.referral(REF).status == in_order.referral(REF).status == S.AWAITING_ALLOCATION


def test_a_re_stated_status_makes_an_older_change_arriving_after_it_stale(h):
    """Awaiting assessment → Deprioritised (day 30) → Awaiting assessment (day 31). The second, arriving first,
    re-states the current status; the older change must not then move the referral on its own."""
    h.feed(*person_with_referral(CRN, assessed=False))
    h.feed(changed(T0 + timedelta(days=31), "AWAITING_ASSESSMENT", reason="back"))
    result = h.feed(changed(T0 + timedelta(days=30), "DEPRIORITISED", reason="low risk"))
    assert (result.stale, result.dead_lettered) == (1, 0)
    assert h.referral(REF).status == S.AWAITING_ASSESSMENT


def test_a_change_parked_for_an_earlier_one_is_stale_once_a_later_change_applied(h):
    """On the waiting list; day 30 deprioritised, day 31 back to assessment, day 32 recalled. Day 31 arrives first
    and waits (not valid from the waiting list), day 32 applies, day 30 is stale: day 31 is then stale too, not
    a dead letter after the park timeout."""
    h.feed(*person_with_referral(CRN))
    d30 = changed(T0 + timedelta(days=30), "DEPRIORITISED")
    d31 = changed(T0 + timedelta(days=31), "AWAITING_ASSESSMENT")
    d32 = changed(T0 + timedelta(days=32), "RECALL")
    assert h.feed(d31).parked == 1
    result = h.feed(d32, d30)
    assert (result.applied, result.unparked, result.stale, result.dead_lettered) == (1, 1, 2, 0)
    assert h.referral(REF).status == S.RECALL
    with h.db.uow() as uow:
        assert uow.earliest_parked() is None


def test_a_change_waiting_for_an_earlier_one_that_never_comes_expires_as_a_dead_letter_naming_it(h):
    h.feed(*person_with_referral(CRN, assessed=False))
    waiting = changed(T0 + timedelta(days=30), "DEFERRED")  # from Awaiting assessment: not yet valid
    assert h.feed(waiting).parked == 1
    h.feed(event("person.updated", T0 + timedelta(days=40), crn=CRN, pdu_code="RS-P02"))
    [letter] = h.dead_letters()
    assert letter["reason"].startswith(f"parked event expired: waited 240 h for status:{REF} (an earlier status change of "
                                    f"referral {REF}), which never arrived")
    assert h.referral(REF).status == S.AWAITING_ASSESSMENT


def test_a_transition_no_status_change_could_make_valid_is_still_refused_at_once(h):
    """Programme complete from the waiting list needs a place first (only an allocation schedules): no earlier
    status change can make it valid, so it is a dead letter at once, naming both statuses, as before."""
    h.feed(*person_with_referral(CRN))
    result = h.feed(changed(T0 + timedelta(days=30), "PROGRAMME_COMPLETE"))
    assert (result.dead_lettered, result.parked) == (1, 0)
    assert "cannot move from AWAITING_ALLOCATION to PROGRAMME_COMPLETE" in h.dead_letters()[-1]["reason"]


def test_a_change_tried_again_and_still_not_valid_keeps_waiting_from_when_it_first_parked(h):
    """Deferred (day 40) waits from day 40; the clock runs on to day 45; deprioritised (day 35) applies and tries
    it again, still not valid: it waits on from day 40, so it expires 168 h after day 40, not after day 45."""
    h.feed(*person_with_referral(CRN, assessed=False))
    day = lambda n, hours=0: T0 + timedelta(days=n, hours=hours)  # noqa: E731
    assert h.feed(changed(day(40), "DEFERRED")).parked == 1
    h.feed(tick(day(45)))
    again = h.feed(changed(day(35), "DEPRIORITISED"))
    assert (again.applied, again.unparked, again.parked) == (1, 1, 1)
    assert h.feed(tick(day(47, 1))).expired == 1
    assert h.dead_letters()[-1]["reason"].startswith(f"parked event expired: waited 169 h for status:{REF}")


def test_an_expired_change_readmitted_and_still_not_valid_waits_again_from_now(h):
    """Deferred (day 40) expires at day 50, dormant; deprioritised (day 35) arrives late and re-admits it, still
    not valid: it waits again from day 50 (its dead letter settled), not from day 40, which would expire it at
    once; a week later it expires again, one dead letter."""
    h.feed(*person_with_referral(CRN, assessed=False))
    day = lambda n, hours=0: T0 + timedelta(days=n, hours=hours)  # noqa: E731
    assert h.feed(changed(day(40), "DEFERRED")).parked == 1
    assert h.feed(tick(day(50))).expired == 1
    again = h.feed(changed(day(35), "DEPRIORITISED"))
    assert (again.applied, again.readmitted, again.parked, again.expired) == (1, 1, 1, 0)
    assert h.dead_letters() == []
    [waiting] = h.db.rows("parked_events")
    assert (waiting["waiting_for"], waiting["parked_at"], waiting["expired_at"]) == (f"status:{REF}", day(50), None)
    assert h.feed(tick(day(57))).expired == 0
    assert h.feed(tick(day(57, 1))).expired == 1
    assert len(h.dead_letters()) == 1


# A late producer (issue 16 scenario 8): another kind of event dated before changes already applied ----------------
# The counterexamples tests/generative/test_late_producer.py and the fault suite found before the status log
# (engine/handlers/status_log.py); each ends as the ordered replay of the same events does.

SENTENCE, REQUIREMENT = f"S-{CRN}", f"RQ-{CRN}"


def day(n: int, minutes: int = 0):
    return T0 + timedelta(days=n, minutes=minutes)


def recall(at, rid: str = "RCL-1") -> str:
    return event("enforcement.recall_raised", at, crn=CRN, sentence_id=SENTENCE, recall_id=rid, raised_on=at.date())


def recall_concluded(at, outcome: str = "RE_RELEASED", rid: str = "RCL-1") -> str:
    return event("enforcement.recall_concluded", at, crn=CRN, sentence_id=SENTENCE, recall_id=rid, outcome=outcome,
                 concluded_on=at.date())


def referral_row(h: Harness) -> dict:
    [row] = [r for r in h.state()["referrals"] if r["referral_id"] == REF]
    return row


def in_order(*lines: str) -> dict:
    ordered = Harness()
    ordered.feed(*lines)
    assert ordered.dead_letters() == []
    return referral_row(ordered)


def test_a_reassessment_arriving_before_an_older_recall_and_its_end_leaves_the_referral_on_the_waiting_list(h):
    """Found at 2,000 events with the referral topic late: suitable (day 20); recalled (day 30, 00:05), re-released
    (00:07), reassessed suitable (00:10). The reassessment arrived first; the older recall then moved the referral
    off the waiting list and its end left it awaiting assessment, where the ordered replay has it on the list."""
    world = person_with_referral(CRN)
    events = [recall(day(30, 5)), recall_concluded(day(30, 7)), assessed(day(30, 10))]
    h.feed(*world)
    h.feed(events[2])
    h.feed(events[0])
    h.feed(events[1])
    assert referral_row(h) == in_order(*world, *events)
    assert h.referral(REF).status == S.AWAITING_ALLOCATION and h.dead_letters() == []


def test_two_closings_in_reverse_order_date_the_closure_by_the_earlier(h):
    """Found at 20,000 events (scenario 1): the sentence terminated (day 40, 00:00) and its requirement terminated
    three minutes later, delivered the other way round: the closure was dated by the later one."""
    world = person_with_referral(CRN)
    sentence_end = event("sentence.terminated", day(40), crn=CRN, sentence_id=SENTENCE, terminated_on=day(40).date(),
                         reason="revoked")
    requirement_end = event("requirement.terminated", day(40, 3), crn=CRN, requirement_id=REQUIREMENT,
                            terminated_on=day(40).date(), reason="revoked")
    h.feed(*world)
    h.feed(requirement_end)
    h.feed(sentence_end)
    expected = in_order(*world, sentence_end, requirement_end)
    assert referral_row(h) == expected and expected["status"] == "WITHDRAWN"
    assert expected["updated_at"] == day(40).isoformat()


def test_a_recall_arriving_before_the_older_assessment_keeps_the_assessments_facts(h):
    """Found at 20,000 events (scenario 1): a recall arrived before the assessment three minutes older, which was
    then stale: the status was right (Recall) but the bands and ready_from were missing."""
    world = person_with_referral(CRN, assessed=False)
    assessment = event("referral.assessed", day(20), crn=CRN, referral_id=REF, outcome="SUITABLE", pathway="HIGH",
                       ogrs3=30.0, need_score=8, ready_from=day(25).date())
    h.feed(*world)
    h.feed(recall(day(20, 3)))
    result = h.feed(assessment)
    assert (result.applied, result.stale) == (1, 0)
    expected = in_order(*world, assessment, recall(day(20, 3)))
    assert referral_row(h) == expected
    assert (expected["status"], expected["pathway"]) == ("RECALL", "HIGH")
    assert expected["ready_from"] == day(25).date().isoformat()


def test_a_referral_arriving_after_a_recall_of_its_sentence_dated_after_it_is_recalled(h):
    """Found at 20,000 events with the referral topic late every hour: the referral (and its assessment) arrived
    after the recall of its sentence dated after them, which had found no referral to recall; its end (custody)
    then found the referral on the waiting list. The ordered replay recalls it and withdraws it."""
    world = person_with_referral(CRN)
    sentence_only, referral_events = world[:3], world[3:]
    h.feed(*sentence_only)
    h.feed(recall(day(21)))
    h.feed(*referral_events)
    h.feed(recall_concluded(day(60), outcome="CUSTODY"))
    expected = in_order(*world, recall(day(21)), recall_concluded(day(60), outcome="CUSTODY"))
    assert referral_row(h) == expected and expected["status"] == "WITHDRAWN"


@pytest.mark.parametrize("ending", ["terminated", "revoked"])
def test_a_requirement_and_referral_arriving_after_their_sentence_ended_later_are_closed_when_it_ended(h, ending):
    """Found by tests/generative/test_late_producer.py (seed 11, the sentence topic late for 42 hours): the
    sentence's end (dated days after) arrived before its licence condition, referral and assessment; the
    requirement was created ended, the referral withdrawn as of its own arrival, and the assessment, dated after
    that, was stale: bands, offence cohort and ready_from missing. The ordered replay assesses, then withdraws
    the referral when the sentence ends. The same for a breach concluded with the order revoked."""
    world = person_with_referral(CRN)
    sentence_only, referral_events = world[:2], world[2:]
    end = (event("sentence.terminated", day(30), crn=CRN, sentence_id=SENTENCE, terminated_on=day(30).date(),
                 reason="revoked") if ending == "terminated" else
           event("enforcement.breach_concluded", day(30), crn=CRN, sentence_id=SENTENCE, breach_id="BR-1",
                 outcome="REVOKED", concluded_on=day(30).date()))
    h.feed(*sentence_only)
    h.feed(end)
    h.feed(*referral_events)
    expected = in_order(*world, end)
    assert referral_row(h) == expected
    assert (expected["status"], expected["pathway"], expected["updated_at"]) == ("WITHDRAWN", "MODERATE",
                                                                                day(30).isoformat())
    assert h.dead_letters() == []


def test_a_recall_dated_before_the_referral_existed_does_not_act_on_it(h):
    """The other side of the one above: a recall older than the referral, arriving after it, did not touch it in
    event order (the referral did not exist) and must not now."""
    world = person_with_referral(CRN)
    h.feed(*world)
    result = h.feed(recall(day(2)))
    assert referral_row(h) == in_order(*world[:3], recall(day(2)), *world[3:])
    assert h.referral(REF).status == S.AWAITING_ALLOCATION and result.dead_lettered == 0


def test_a_late_older_event_never_overrides_a_plans_decision_dated_after_it(h):
    """A move no event made (a plan's allocation) dated after the late event: the fold could undo it, so the late
    event applies as it arrives, as before the fold: a status change dated before the assessment (day 20) that
    the plan followed is stale, and the place stands."""
    from datetime import date

    from tests.support.events import cohort_planned, facilitator
    crns = [f"X{i:06d}" for i in range(8)]
    h.feed(*[line for crn in crns for line in person_with_referral(crn)])
    h.feed(cohort_planned("C1", date(2025, 3, 3)), facilitator("F1"), facilitator("F2"))
    h.plan(date(2025, 2, 3))
    scheduled = next(crn for crn in crns if h.referral(f"REF-{crn}").status == S.SCHEDULED)
    late = event("referral.status_changed", day(19), crn=scheduled, referral_id=f"REF-{scheduled}",
                 to_status="DEPRIORITISED")
    result = h.feed(late)
    assert (result.stale, result.dead_lettered) == (1, 0)
    assert h.referral(f"REF-{scheduled}").status == S.SCHEDULED


def test_a_change_an_older_closing_undoes_is_a_dead_letter_saying_so(h):
    """Deprioritised on day 30 (applied), then the requirement's termination dated day 29 arrives: in event-time
    order the referral was withdrawn first, and a closed referral never reopens, so the change no longer applies.
    It was applied when it arrived; it is not dropped silently but becomes a dead letter with its text and why."""
    world = person_with_referral(CRN)
    deprioritised = changed(day(30), "DEPRIORITISED")
    terminated = event("requirement.terminated", day(29), crn=CRN, requirement_id=REQUIREMENT,
                       terminated_on=day(29).date(), reason="revoked")
    h.feed(*world)
    h.feed(deprioritised)
    h.feed(terminated)
    ordered = Harness()
    ordered.feed(*world, terminated, deprioritised)
    assert referral_row(h) == referral_row(ordered) and h.referral(REF).status == S.WITHDRAWN
    [letter] = h.dead_letters()
    assert letter["raw"] == deprioritised and letter["event_id"] in deprioritised
    assert letter["reason"].startswith(f"referral.status_changed rejected: referral {REF}: no longer applies")
    assert "left the referral withdrawn" in letter["reason"]
    assert len(ordered.dead_letters()) == 1  # the ordered replay refuses it too


def test_a_broker_message_expired_twice_and_readmitted_between_tells_the_dead_letter_topic_each_time(h):
    """From a broker, each expiry is a message on the dead-letter topic and each re-admission one too: the same
    offset dead-lettered twice (expired, re-admitted, waiting again, expired again) needs two message ids."""
    from engine.services.ingest import RawEvent

    topic = "programmes.referrals.v1"
    h.feed(*person_with_referral(CRN, assessed=False))
    day = lambda n, hours=0: T0 + timedelta(days=n, hours=hours)  # noqa: E731
    h.ingestor.process([RawEvent(changed(day(40), "DEFERRED"), topic, partition=0, offset=5)])
    h.feed(tick(day(50)))
    h.feed(changed(day(35), "DEPRIORITISED"))  # re-admits it: still not valid, it waits again
    assert h.feed(tick(day(60))).expired == 1
    sent = [(r["event_type"], json.loads(r["message"])["payload"]["offset"]) for r in h.outbox()
            if r["topic"] == "programmes.deadletter.v1"]
    assert sent == [("event.dead_lettered", 5), ("event.readmitted", 5), ("event.dead_lettered", 5)]
    assert len({r["message_id"] for r in h.outbox()}) == len(h.outbox())
