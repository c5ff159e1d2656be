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
                        "line_number": None, "reason": letters[0]["reason"], "original_base64": None}]
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
