"""Messages from a broker: offsets stored with the state, dead letters to the topic, dirty regions, clock."""
from __future__ import annotations

import json

from engine.services.ingest import Ingestor, RawEvent
from engine.state_keys import CLOCK, DIRTY
from tests.support.events import person_with_referral

TOPIC = "programmes.referrals.v1"


def _from_broker(lines, partition=0, first_offset=0):
    return [RawEvent(line, TOPIC, partition=partition, offset=first_offset + n) for n, line in enumerate(lines)]


def _state(db, name: str):
    with db.uow() as uow:
        return uow.get_state(name)


def test_a_redelivered_message_is_recognised_by_its_offset_even_without_an_event_id(store):
    db = store
    ingest = Ingestor(db.uow)
    lines = person_with_referral("X000001") + ["not json at all"]
    first = ingest.process(_from_broker(lines))
    assert first.applied == 5 and first.dead_lettered == 1
    assert _state(db, f"offset:{TOPIC}:0") == "5"
    again = ingest.process(_from_broker(lines))  # a worker died before the broker's commit
    assert again.redelivered == 6 and again.applied == 0 and again.dead_lettered == 0
    assert db.dead_letter_count() == 1
    letters = [json.loads(r["message"])["payload"] for r in db.outbox() if r["event_type"] == "event.dead_lettered"]
    assert letters == [{"original": "not json at all", "topic": TOPIC, "partition": 0, "offset": 5,
                        "line_number": None, "reason": letters[0]["reason"], "original_base64": None,
                        "event_id": None}]
    assert "bad JSON" in letters[0]["reason"]


def test_partitions_keep_their_own_offsets(store):
    db = store
    ingest = Ingestor(db.uow)
    a, b = person_with_referral("X000001"), person_with_referral("X000002")
    ingest.process(_from_broker(a, partition=0) + _from_broker(b, partition=1, first_offset=100))
    assert _state(db, f"offset:{TOPIC}:0") == "4" and _state(db, f"offset:{TOPIC}:1") == "104"
    later = ingest.process(_from_broker(b, partition=1, first_offset=103))  # 103, 104 seen; 105.. new
    assert later.redelivered == 2 and later.duplicates == 3  # the rest are the same events again (event ids)


def test_a_file_replay_stores_no_offsets_but_marks_regions_dirty_and_moves_the_clock(store):
    db = store
    ingest = Ingestor(db.uow)
    ingest.process([RawEvent(line, "file", n) for n, line in enumerate(person_with_referral("X000001"), 1)])
    with db.uow() as uow:
        assert uow.states("offset:") == {}
        assert uow.get_state(DIRTY.key("RS")) == "1"
        assert uow.get_state(CLOCK).startswith("2025-01-2")
    ingest.process([RawEvent(line, "file", n) for n, line in enumerate(person_with_referral("X000002"), 1)])
    assert _state(db, DIRTY.key("RS")) == "2"


def test_a_message_set_aside_is_dead_lettered_once(store):
    db = store
    ingest = Ingestor(db.uow)
    item = _from_broker(person_with_referral("X000001")[:1])[0]
    assert ingest.reject(item, "internal error").dead_lettered == 1
    assert ingest.reject(item, "internal error").redelivered == 1
    assert db.dead_letter_count() == 1


def test_a_dead_letter_from_a_broker_names_its_position_and_the_envelope_s_event_id(store, caplog):
    db = store
    event_id = "6f1c2a8e-4b7d-4c55-9a0e-2f4b8d1e7c3a"
    wrong_types = json.dumps({"event_id": event_id, "event_type": "referral.created", "schema_version": 1,
                              "occurred_at": "2025-01-20T09:00:00Z", "source": "test", "key": "X000009",
                              "payload": {"crn": ["not", "a", "string"], "surname": "Nobody-Should-Log-Me"}})
    unknown_type = json.dumps({"event_id": "not-a-uuid", "event_type": "referral.exploded", "payload": {}})
    with caplog.at_level("WARNING", logger="engine.services.ingest"):
        Ingestor(db.uow).process(_from_broker([wrong_types, unknown_type], partition=2, first_offset=40))
    rows = sorted(db.dead_letters(), key=lambda r: r["offset"])
    assert [(r["origin"], r["partition"], r["offset"], r["event_id"]) for r in rows] == [
        (TOPIC, 2, 40, event_id), (TOPIC, 2, 41, None)]
    letters = sorted((json.loads(r["message"])["payload"] for r in db.outbox()
                      if r["event_type"] == "event.dead_lettered"), key=lambda p: p["offset"])
    assert [(p["topic"], p["partition"], p["offset"], p["event_id"]) for p in letters] == [
        (TOPIC, 2, 40, event_id), (TOPIC, 2, 41, None)]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dead letter")]
    assert len(lines) == 2
    assert f"{TOPIC} partition 2 offset 40, event {event_id}: invalid referral.created payload" in lines[0]
    assert f"{TOPIC} partition 2 offset 41, event (no valid id): invalid envelope: event_id" in lines[1]
    assert not any("line None" in line or "Nobody-Should-Log-Me" in line for line in lines)
