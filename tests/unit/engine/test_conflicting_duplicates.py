"""Issue 12, class 4: the same event id with other content is a conflict, recorded with both copies, never applied.

The rule (docs/events.md, "Duplicates and conflicts"): the first copy recorded (applied, stale, rejected or
parked) stands; a later copy with the same content digest is a duplicate, one with a different digest is a
dead letter naming both copies, whatever its occurred_at, in any batch.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from engine.alerts.gather import dead_letter_inputs
from engine.alerts.rules import dead_letters
from engine.alerts.settings import AlertThresholds
from engine.events.decode import decode
from engine.events.envelope import Envelope
from engine.services.digests import content_digest
from engine.services.ingest import Ingestor, RawEvent
from tests.support.events import T0, event, person_with_referral
from tests.unit.engine.harness import Harness

ID = "0b5d7c1e-1111-4aaa-8bbb-000000000001"
TOPIC = "programmes.referrals.v1"


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def assessed(at: datetime, ogrs3: float = 80.0, event_id: str = ID, crn: str = "X000001") -> str:
    return event("referral.assessed", at, event_id=event_id, crn=crn, referral_id=f"REF-{crn}", outcome="SUITABLE",
                 pathway="MODERATE", ogrs3=ogrs3, need_score=4)


def person(at: datetime, pdu: str, event_id: str = ID, crn: str = "X000009") -> str:
    return event("person.updated", at, event_id=event_id, crn=crn, region_code="RS", pdu_code=pdu)


def pdu_of(h: Harness, crn: str) -> str:
    with h.db.uow() as uow:
        return uow.people.get(crn).pdu_code


def test_conflicting_duplicate_is_dead_lettered_with_both_payloads(store):
    h = Harness(store)
    h.feed(*person_with_referral("X000001", assessed=False))
    first = assessed(T0 + timedelta(days=20), ogrs3=80.0)
    h.feed(first)
    assert h.referral("REF-X000001").risk_band == "HIGH"

    second = assessed(T0 + timedelta(days=20), ogrs3=10.0)  # same id, another score
    result = h.feed(second)

    assert (result.applied, result.duplicates, result.conflicts, result.dead_lettered) == (0, 0, 1, 1)
    assert h.referral("REF-X000001").risk_band == "HIGH"  # the first copy stands
    letter = h.dead_letters()[-1]
    assert letter["raw"] == second and letter["event_id"] == ID
    assert (letter["origin"], letter["line_number"]) == ("test", 1)
    reason = letter["reason"]
    assert reason.startswith(f"conflicting duplicate of event {ID} (first seen ")
    assert ", applied): payload differs in payload.ogrs3;" in reason
    assert reason.endswith(f"First copy: {first}")  # both texts are kept: the new one as raw, the first here


def test_an_identical_copy_is_a_plain_duplicate_however_it_is_formatted(h):
    h.feed(*person_with_referral("X000001", assessed=False), assessed(T0 + timedelta(days=20)))
    body = json.loads(assessed(T0 + timedelta(days=20)))
    body["source"] = "another-system"  # the producing system is not part of the content
    body["occurred_at"] = (T0 + timedelta(days=20)).astimezone(timezone(timedelta(hours=1))).isoformat()
    body["payload"] = dict(reversed(list(body["payload"].items())))
    body["payload"]["ogrs3"] = 80  # 80 and 80.0 are the same number
    result = h.feed(json.dumps(body, indent=2))
    assert (result.duplicates, result.conflicts, result.dead_lettered) == (1, 0, 0)


def test_a_later_copy_is_never_applied_whatever_its_occurred_at(h):
    h.feed(person(T0 + timedelta(days=5), "RS-P01"))
    result = h.feed(person(T0 + timedelta(days=9), "RS-P02"), person(T0 + timedelta(days=1), "RS-P03"))
    assert (result.applied, result.stale, result.conflicts) == (0, 0, 2)
    assert pdu_of(h, "X000009") == "RS-P01"
    reasons = [d["reason"] for d in h.dead_letters()]
    assert "payload differs in occurred_at, payload.pdu_code;" in reasons[0]


@pytest.mark.parametrize("order", ["P02 first", "P03 first"])
def test_the_first_copy_to_arrive_stands_not_the_earliest_occurred_at(h, order):
    """Two copies in one batch: the first in processing order wins, whichever happened 'earlier'."""
    early, late = person(T0, "RS-P03"), person(T0 + timedelta(days=3), "RS-P02")
    lines = [late, early] if order == "P02 first" else [early, late]
    result = h.feed(*lines)
    assert (result.applied, result.conflicts) == (1, 1)
    assert pdu_of(h, "X000009") == ("RS-P02" if order == "P02 first" else "RS-P03")
    assert h.dead_letters()[0]["raw"] == lines[1]


def test_where_batches_end_does_not_change_the_winner_or_the_record():
    lines = [person(T0, "RS-P01"), person(T0 + timedelta(days=1), "RS-P02"), *person_with_referral("X000001"),
             person(T0 - timedelta(days=1), "RS-P03")]
    together = Harness()
    together.feed(*lines)
    one_by_one = Harness()
    for line in lines:
        one_by_one.feed(line)
    assert together.state() == one_by_one.state()
    assert [d["raw"] for d in together.dead_letters()] == [d["raw"] for d in one_by_one.dead_letters()] == \
        [lines[1], lines[-1]]


def test_a_copy_arriving_while_the_first_waits_is_dead_lettered_and_the_parked_one_applies_later(h):
    _, _, _, referral, _ = person_with_referral("X000002")
    body = json.loads(referral)
    body["payload"]["referred_on"] = "2025-02-01"
    other = json.dumps(body)
    assert h.feed(referral).parked == 1
    result = h.feed(other)
    assert (result.parked, result.conflicts) == (0, 1)
    reason = h.dead_letters()[-1]["reason"]
    assert ", parked waiting for requirement:RQ-X000002): payload differs in payload.referred_on;" in reason
    released = h.feed(*person_with_referral("X000002")[:3])
    assert released.unparked == 1
    assert str(h.referral("REF-X000002").referred_on) == json.loads(referral)["payload"]["referred_on"]


def test_an_identical_copy_of_a_parked_event_is_a_duplicate(h):
    referral = person_with_referral("X000003")[3]
    h.feed(referral)
    result = h.feed(referral)
    assert (result.duplicates, result.parked, result.dead_lettered) == (1, 0, 0)


def test_a_copy_of_a_rejected_event_with_other_content_is_a_conflict_too(h):
    h.feed(*person_with_referral("X000006"))
    eid = "0b5d7c1e-1111-4aaa-8bbb-000000000006"
    bad = event("referral.status_changed", T0 + timedelta(days=30), event_id=eid, crn="X000006",
                referral_id="REF-X000006", to_status="PROGRAMME_COMPLETE")
    fixed = event("referral.status_changed", T0 + timedelta(days=30), event_id=eid, crn="X000006",
                  referral_id="REF-X000006", to_status="DEPRIORITISED")
    assert h.feed(bad).dead_lettered == 1
    result = h.feed(fixed)
    assert (result.applied, result.conflicts) == (0, 1)
    assert ", rejected): payload differs in payload.to_status;" in h.dead_letters()[-1]["reason"]


def test_an_event_recorded_before_digests_were_kept_is_compared_as_a_duplicate(h):
    with h.db.uow() as uow:  # a row written by an older version: no digest, no text
        uow.mark_processed(ID, "person.updated", T0, "APPLIED")
        uow.commit()
    result = h.feed(person(T0, "RS-P05"))
    assert (result.duplicates, result.conflicts, result.applied) == (1, 0, 0)


def test_a_conflict_from_a_broker_goes_to_the_dead_letter_topic_with_both_copies(h):
    first, second = person(T0, "RS-P01"), person(T0, "RS-P02")
    ingest = Ingestor(h.db.uow)
    ingest.process([RawEvent(first, TOPIC, partition=2, offset=10)])
    ingest.process([RawEvent(second, TOPIC, partition=2, offset=11)])
    [message] = h.outbox("event.dead_lettered")
    payload = json.loads(message["message"])["payload"]
    assert (payload["original"], payload["partition"], payload["offset"]) == (second, 2, 11)
    assert payload["reason"].startswith(f"conflicting duplicate of event {ID}") and first in payload["reason"]


def test_a_conflict_is_named_in_the_dead_letter_alert(h):
    h.feed(person(T0, "RS-P01"))
    h.feed(person(T0, "RS-P02"))
    now = datetime.now(timezone.utc)
    with h.db.uow() as uow:
        assert uow.dead_letters_since(now - timedelta(hours=1))[0][1] == "test (conflicting duplicate)"
        inputs = dead_letter_inputs(uow, now + timedelta(seconds=1), now.date())
    [alert] = dead_letters.evaluate(inputs, AlertThresholds(dead_letters_per_hour=0))
    assert "test (conflicting duplicate) (1)" in alert.reason


def test_the_digest_covers_type_version_time_key_and_payload_but_not_source_or_formatting():
    base = json.loads(person(T0, "RS-P01"))

    def digest(**changes) -> str:
        # The envelope alone (a key that is not the payload's crn is refused when decoding, issue 18 class 6).
        return content_digest(Envelope.model_validate({**base, **changes}))

    same = digest()
    assert digest(source="elsewhere") == same
    assert digest(occurred_at=T0.astimezone(timezone(timedelta(hours=-5))).isoformat()) == same
    assert digest(payload={**base["payload"], "unknown_field": 1}) != same  # a field we ignore still differs
    assert digest(key="X000010") != same
    assert digest(occurred_at=(T0 + timedelta(seconds=1)).isoformat()) != same
    assert digest(payload={**base["payload"], "pdu_code": "RS-P02"}) != same
    assert len(same) == 64 and int(same, 16) >= 0


def test_a_single_conflicting_duplicate_raises_its_own_alert_whatever_the_dead_letter_threshold(h):
    """Issue 12, class 4: an alert when it happens, not only above the hourly dead-letter threshold."""
    from engine.alerts.sweep import AlertSweep
    first = event("person.updated", crn="X000901", region_code="RS", pdu_code="RS-P01", event_id=ID)
    second = event("person.updated", crn="X000901", region_code="RS", pdu_code="RS-P02", event_id=ID)
    h.feed(first)
    h.feed(second)
    AlertSweep(h.rules).sweep(h.db.uow, "RS", T0.date())
    with h.db.uow() as uow:
        alerts = uow.active_alerts("*", kinds=["events.conflicting_duplicate"])
    assert len(alerts) == 1 and "same event id and different content" in next(iter(alerts.values()))["reason"]


def test_a_file_replay_applies_the_first_copy_in_the_file_even_when_a_later_copy_is_dated_earlier(store, tmp_path):
    """The replay sorts by event time, but every copy of an id sorts where its first line is."""
    from engine.domain.rules import EngineRules
    from engine.services.replay import Replay, read_lines
    first = event("person.updated", T0 + timedelta(hours=2), crn="X000950", region_code="RS", pdu_code="RS-P01",
                  event_id=ID)
    earlier_copy = event("person.updated", T0, crn="X000950", region_code="RS", pdu_code="RS-P02", event_id=ID)
    path = tmp_path / "events.jsonl"
    path.write_text(first + "\n" + earlier_copy + "\n")
    summary = Replay(Ingestor(store.uow, EngineRules())).run(read_lines(path))
    assert summary.ingest.conflicts == 1
    with store.uow() as uow:
        assert uow.people.get("X000950").pdu_code == "RS-P01"
