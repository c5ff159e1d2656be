"""The engine behind the consumer, on the in-memory store: failures isolated to the message that causes them;
the relay marks rows sent only after the send succeeded. (The broker itself is exercised in
tests/integration/kafka, the weekly report on SQL in tests/integration/test_weekly_report_service.py.)"""
from __future__ import annotations

import asyncio

import pytest

from engine.handlers import HANDLERS
from engine.services.ingest import RawEvent
from engine.settings import EngineSettings
from streams import service as service_module
from streams.service import EngineService
from tests.support.events import person_with_referral
from tests.support.outage import database_down
from tests.support.stores import MemoryTestStore


@pytest.fixture
def svc(memory_bootstrap, monkeypatch):
    monkeypatch.setattr(service_module, "BACKOFF_S", (0.0,))
    engine = memory_bootstrap(EngineSettings(allocator="current-practice"))
    service = EngineService(engine)
    yield service
    service.close()


def _batch(lines):
    return [RawEvent(line, "programmes.referrals.v1", partition=0, offset=n) for n, line in enumerate(lines)]


def test_a_message_that_breaks_its_handler_is_set_aside_and_the_rest_applied(svc, monkeypatch):
    lines = person_with_referral("X000001") + person_with_referral("X000002")
    real = HANDLERS["referral.created"]

    def flaky(ctx, payload):
        if payload.referral_id == "REF-X000001":
            raise RuntimeError("a bug")
        return real(ctx, payload)

    monkeypatch.setitem(HANDLERS, "referral.created", flaky)
    result = asyncio.run(svc.apply(_batch(lines)))
    assert result.dead_lettered == 1
    assert result.applied + result.parked == len(lines) - 1
    assert svc.stats.isolated >= 1 and svc.stats.retries >= 3
    letters = MemoryTestStore(svc.engine.database).dead_letters(10)
    assert len(letters) == 1 and "internal error" in letters[0]["reason"] and letters[0]["offset"] == 3


@pytest.mark.parametrize("size", [1, 2], ids=["one message", "a batch"])
def test_a_batch_that_failed_only_because_the_database_was_down_is_applied_whole_once_it_is_back(svc, monkeypatch,
                                                                                                  size):
    """Issue 16 scenario 4's finding: an outage is not the batch's fault — nothing is split or dead-lettered."""
    lines = [line for n in range(size) for line in person_with_referral(f"X00000{n + 1}")]
    database_down(monkeypatch, svc, probes=2)  # down for the first two probes after the failure
    result = asyncio.run(svc.apply(_batch(lines)))
    assert result.dead_lettered == 0 and result.applied + result.parked == len(lines)
    assert svc.stats.isolated == 0 and svc.stats.batches == 1 and svc.stats.retries == 1
    assert MemoryTestStore(svc.engine.database).dead_letters(10) == []


def test_the_relay_marks_rows_sent_only_after_the_send_succeeded(svc):
    asyncio.run(svc.apply(_batch(["not json"])))  # a dead letter: one outbox row for the dead-letter topic
    sent: list[dict] = []

    async def failing(rows):
        raise ConnectionError("broker down")

    async def ok(rows):
        sent.extend(rows)
        return [row["id"] for row in rows]

    with pytest.raises(ConnectionError):
        asyncio.run(svc.relay(failing))
    assert [r["sent_at"] for r in MemoryTestStore(svc.engine.database).outbox()] == [None]
    assert asyncio.run(svc.relay(ok)) == 1
    assert [r["event_type"] for r in sent] == ["event.dead_lettered"]
    assert asyncio.run(svc.relay(ok)) == 0


def test_the_relay_marks_the_rows_acknowledged_and_sends_the_others_again_after_their_keys_earlier_rows(svc):
    asyncio.run(svc.apply(_batch(["not json", "{}", "[1]"])))  # three dead letters: three rows, one topic and key
    rows = MemoryTestStore(svc.engine.database).outbox()
    assert len(rows) == 3 and len({(r["topic"], r["key"]) for r in rows}) == 1, rows
    first, second, third = (r["id"] for r in rows)
    sent: list[list[int]] = []

    async def the_second_fails_once(rows):  # the first time, the broker acknowledged the first and the third
        sent.append([row["id"] for row in rows])
        return [row["id"] for row in rows if row["id"] != second or len(sent) > 1]

    assert asyncio.run(svc.relay(the_second_fails_once)) == 1  # the third waits for the second: the key's order
    assert [r["id"] for r in MemoryTestStore(svc.engine.database).outbox() if r["sent_at"] is None] == [second, third]
    assert asyncio.run(svc.relay(the_second_fails_once)) == 2
    assert sent == [[first, second, third], [second, third]]
    assert all(r["sent_at"] for r in MemoryTestStore(svc.engine.database).outbox())


def test_sent_in_order_keeps_each_keys_rows_behind_its_first_unacknowledged_one():
    rows = [dict(id=i, topic=t, key=k) for i, t, k in
            [(1, "a", "x"), (2, "a", "y"), (3, "a", "x"), (4, "b", "x"), (5, "a", "y"), (6, "a", "x")]]
    assert service_module.sent_in_order(rows, {1, 2, 3, 4, 5, 6}) == [1, 2, 3, 4, 5, 6]
    assert service_module.sent_in_order(rows, {1, 2, 4, 5, 6}) == [1, 2, 4, 5]  # 3 failed: 6 (a, x) waits
    assert service_module.sent_in_order(rows, {2, 3, 4, 6}) == [2, 4]  # 1 failed: (a, x) waits; 5 failed: (a, y)
    assert service_module.sent_in_order(rows, set()) == []



def _low_rows(svc) -> dict[str, dict]:
    import json

    with svc.engine.database.uow() as uow:
        return {name: json.loads(value) for name, value in uow.states("low:").items()}


def test_the_low_watermark_exchange_writes_a_row_only_when_its_low_changed_or_ages(svc, monkeypatch):
    from datetime import datetime, timezone

    from engine import state_keys as keys
    from streams import service as module

    assert keys.LOW_WATERMARK.key("t", 0).startswith("low:")
    clock = [1000.0]
    monkeypatch.setattr(module.time, "time", lambda: clock[0])
    head = (1, datetime(2026, 1, 5, tzinfo=timezone.utc), 2, "e1")
    tp, other = ("t.sentences", 0), ("t.referrals", 1)

    fresh, stale = asyncio.run(svc.exchange_lows({tp: head, other: None}, stale_s=30))
    assert fresh == {tp: head, other: None} and stale == set()
    first = _low_rows(svc)
    assert {row["at"] for row in first.values()} == {1000.0}

    clock[0] = 1005.0  # unchanged lows, younger than stale_s / 4: nothing rewritten, the same answer
    assert asyncio.run(svc.exchange_lows({tp: head, other: None}, stale_s=30)) == (fresh, set())
    assert _low_rows(svc) == first

    clock[0] = 1006.0  # one low moved: only its row is written
    later = (1, datetime(2026, 1, 6, tzinfo=timezone.utc), 2, "e2")
    fresh, _ = asyncio.run(svc.exchange_lows({tp: later, other: None}, stale_s=30))
    assert fresh == {tp: later, other: None}
    rows = _low_rows(svc)
    assert rows[keys.LOW_WATERMARK.key(*tp)]["at"] == 1006.0
    assert rows[keys.LOW_WATERMARK.key(*other)]["at"] == 1000.0

    clock[0] = 1007.5  # a quarter of stale_s after its last write: refreshed though unchanged, so never stale
    asyncio.run(svc.exchange_lows({tp: later, other: None}, stale_s=30))
    assert _low_rows(svc)[keys.LOW_WATERMARK.key(*other)]["at"] == 1007.5
