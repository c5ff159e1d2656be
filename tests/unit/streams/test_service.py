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


def test_the_relay_marks_rows_sent_only_after_the_send_succeeded(svc):
    asyncio.run(svc.apply(_batch(["not json"])))  # a dead letter: one outbox row for the dead-letter topic
    sent: list[dict] = []

    async def failing(rows):
        raise ConnectionError("broker down")

    async def ok(rows):
        sent.extend(rows)

    with pytest.raises(ConnectionError):
        asyncio.run(svc.relay(failing))
    assert [r["sent_at"] for r in MemoryTestStore(svc.engine.database).outbox()] == [None]
    assert asyncio.run(svc.relay(ok)) == 1
    assert [r["event_type"] for r in sent] == ["event.dead_lettered"]
    assert asyncio.run(svc.relay(ok)) == 0

