"""Issue 12, class 6: events waiting for a partner that never comes are listed, expire into dead letters after
the park timeout of event time, and keep their own source position when they are released. Issue 16 (a producer
later than the park timeout): an expired event is kept, dormant, and re-admitted when its partner arrives after
all, its dead letter settled."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine.services.ingest import Ingestor, RawEvent
from engine.settings import EngineSettings
from tests.support.events import T0, event, person_with_referral
from tests.support.stores import MemoryTestStore
from tests.unit.engine.harness import Harness

TOPIC = "programmes.referrals.v1"


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def tick(at, crn: str = "X000099") -> str:
    """An unrelated event that moves the event clock to ``at``."""
    return event("person.updated", at, crn=crn, region_code="RS", pdu_code="RS-P01")


def parked_rows(h: Harness) -> list[dict]:
    return h.db.rows("parked_events")


def processed(h: Harness, event_id: str) -> dict:
    return {r["event_id"]: r for r in h.state()["processed_events"]}[event_id]


def test_parked_event_expires_into_a_dead_letter_with_its_reason(store):
    h = Harness(store)
    referral = person_with_referral("X000001")[3]  # at T0 + 3 days; its requirement never arrives
    h.feed(tick(T0), tick(T0, "X000098"), referral)
    assert [r["waiting_for"] for r in parked_rows(h)] == ["requirement:RQ-X000001"]
    since = T0 + timedelta(days=3)  # the clock was behind it: it waits from its own time

    within = h.feed(tick(since + timedelta(hours=168)))  # exactly the limit: not yet
    assert within.expired == 0 and len(parked_rows(h)) == 1

    result = h.feed(tick(since + timedelta(hours=170)))
    assert (result.expired, result.dead_lettered) == (1, 1)
    [dormant] = parked_rows(h)  # kept for its partner, no longer waiting
    assert (dormant["waiting_for"], dormant["expired_at"]) == ("requirement:RQ-X000001", since + timedelta(hours=170))
    assert waiting_since(h) is None
    assert h.feed(tick(since + timedelta(days=30))).expired == 0  # expires once
    letter = h.dead_letters()[-1]
    event_id = json.loads(referral)["event_id"]
    assert letter["reason"] == ("parked event expired: waited 170 h for requirement:RQ-X000001, which never "
                                "arrived (the limit is 168 h of event time)")
    assert (letter["origin"], letter["line_number"], letter["event_id"], letter["raw"]) == \
        ("test", 3, event_id, referral)  # where it came in, not the batch that expired it
    assert processed(h, event_id)["outcome"] == "EXPIRED"


def waiting_since(h: Harness):
    with h.db.uow() as uow:
        return uow.earliest_parked()


def test_a_late_partner_readmits_an_expired_event_and_settles_its_dead_letter_a_copy_is_a_duplicate(h):
    lines = person_with_referral("X000001")
    event_id = json.loads(lines[3])["event_id"]
    h.feed(lines[3])
    assert h.feed(tick(T0 + timedelta(days=11))).expired == 1
    assert [d["event_id"] for d in h.dead_letters()] == [event_id]
    late = h.feed(*lines[:3], lines[3])  # the partner, then a copy of the expired event
    assert (late.readmitted, late.unparked, late.duplicates, late.dead_lettered) == (1, 1, 1, 0)
    assert h.referral("REF-X000001") is not None
    assert h.dead_letters() == []
    assert processed(h, event_id)["outcome"] == "APPLIED"
    assert parked_rows(h) == []


def test_a_copy_of_an_expired_event_before_its_partner_is_a_duplicate_and_it_stays_dormant(h):
    referral = person_with_referral("X000001")[3]
    h.feed(referral)
    h.feed(tick(T0 + timedelta(days=11)))
    before = parked_rows(h)
    assert h.feed(referral).duplicates == 1
    assert parked_rows(h) == before and waiting_since(h) is None
    assert len(h.dead_letters()) == 1


def test_events_that_waited_for_an_expired_one_follow_it_back_in_order():
    """The referral waits for its requirement and its assessment for the referral; both expire. When the
    requirement arrives the referral is re-admitted, which releases the assessment: the same referral as an
    ordered feed, nothing dead-lettered."""
    lines = person_with_referral("X000001")  # person, sentence, requirement, referral (+3 d), assessed (+20 d)
    ordered = Harness()
    ordered.feed(*lines)
    late = Harness()
    late.feed(tick(T0), lines[3], lines[4], tick(T0 + timedelta(days=40)))
    assert len(late.dead_letters()) == 2
    result = late.feed(*lines[:3])
    assert (result.readmitted, result.dead_lettered) == (2, 0)
    assert late.referral("REF-X000001") == ordered.referral("REF-X000001")
    assert late.dead_letters() == [] and parked_rows(late) == []


@pytest.mark.parametrize("partner_after_days", [6, 12])
def test_expiry_does_not_depend_on_where_batches_end(partner_after_days):
    """One batch or one event per batch: the same events expire, the same ones are applied. The referral waits
    from T0 + 3 days; the clock passes the limit a day before its requirement arrives, or does not."""
    partner = person_with_referral("X000001", at=T0 + timedelta(days=partner_after_days), assessed=False)[:3]
    stream = [person_with_referral("X000001")[3], tick(T0 + timedelta(days=partner_after_days - 1)), *partner]
    together = Harness()
    total = together.feed(*stream)
    apart = Harness()
    for line in stream:
        apart.feed(line)
    expired = partner_after_days == 12
    assert (total.expired, total.readmitted) == (int(expired), int(expired))  # in one batch: expired, then back
    assert together.dead_letters() == apart.dead_letters() == []
    assert together.referral("REF-X000001") == apart.referral("REF-X000001") is not None
    assert parked_rows(together) == parked_rows(apart) == []


def test_dead_letter_on_release_keeps_the_original_line_number(h):
    impossible = event("referral.status_changed", T0 + timedelta(days=30), crn="X000006", referral_id="REF-X000006",
                       to_status="PROGRAMME_COMPLETE")
    assert h.feed(tick(T0), impossible).parked == 1  # line 2, waiting for its referral
    result = h.feed(*person_with_referral("X000006", assessed=False))  # the referral is line 4 of this batch
    assert (result.unparked, result.dead_lettered) == (1, 1)
    letter = h.dead_letters()[-1]
    assert "cannot move from" in letter["reason"]
    assert (letter["origin"], letter["line_number"], letter["raw"]) == ("test", 2, impossible)


def test_a_dead_letter_on_release_from_a_broker_names_its_own_partition_and_offset(h):
    ingest = Ingestor(h.db.uow)
    impossible = event("referral.status_changed", T0 + timedelta(days=30), crn="X000006", referral_id="REF-X000006",
                       to_status="PROGRAMME_COMPLETE")
    ingest.process([RawEvent(impossible, TOPIC, partition=1, offset=7)])
    lines = person_with_referral("X000006", assessed=False)
    ingest.process([RawEvent(line, TOPIC, partition=1, offset=8 + n) for n, line in enumerate(lines)])
    letter = h.dead_letters()[-1]
    assert (letter["origin"], letter["partition"], letter["offset"], letter["line_number"]) == (TOPIC, 1, 7, None)
    [message] = h.outbox("event.dead_lettered")
    payload = json.loads(message["message"])["payload"]
    assert (payload["original"], payload["partition"], payload["offset"]) == (impossible, 1, 7)


def test_the_park_timeout_is_a_setting(memory_bootstrap, monkeypatch):
    assert memory_bootstrap(EngineSettings()).ingestor.park_timeout == timedelta(hours=168)
    monkeypatch.setenv("COHORTPLAN_PARK_TIMEOUT_HOURS", "2")
    engine = memory_bootstrap(EngineSettings())
    assert engine.ingestor.park_timeout == timedelta(hours=2)
    ingest = engine.ingestor
    referral = person_with_referral("X000001")[3]
    ingest.process([RawEvent(referral, "file", 1)])
    assert ingest.process([RawEvent(tick(T0 + timedelta(days=3, hours=2)), "file", 2)]).expired == 0
    result = ingest.process([RawEvent(tick(T0 + timedelta(days=3, hours=3)), "file", 3)])
    assert result.expired == 1
    assert "the limit is 2 h of event time" in MemoryTestStore(engine.database).dead_letters()[-1]["reason"]

