"""The outbox relay's producer on a real broker (streams/relay.py): it answers the rows the broker acknowledged,
each by its own id, and a row the broker refused is neither reported sent nor lets a later row of its topic and
key be marked sent before it (:func:`streams.service.sent_in_order`)."""
from __future__ import annotations

import asyncio
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka_io import read_topics
from streams.relay import OutboxRelay
from streams.service import sent_in_order
from tests.support.service import service_env, stream_settings


def _row(row_id: int, topic: str, key: str, size: int = 100) -> dict:
    return dict(id=row_id, topic=topic, key=key, message="x" * size, message_id=f"m{row_id}", event_type="test")


async def _topics(bootstrap: str, plain: str, small: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:  # the broker refuses a record batch over 1,000 bytes on the small topic
        await admin.create_topics([NewTopic(plain, 1, 1),
                                   NewTopic(small, 1, 1, topic_configs={"max.message.bytes": "1000"})])
    finally:
        await admin.close()


def test_the_relay_answers_the_rows_the_broker_acknowledged_and_a_refused_row_holds_its_keys_later_rows(
        kafka_broker):
    settings = stream_settings(service_env(kafka_broker.bootstrap, "sqlite://"))
    plain, small = (f"relay-{uuid.uuid4().hex[:8]}-{name}" for name in ("plain", "small"))
    rows = [_row(1, plain, "k"), _row(2, small, "k", size=5_000), _row(3, small, "k"), _row(4, plain, "k"),
            _row(5, plain, "other")]

    async def send() -> list[int]:
        await _topics(settings.bootstrap_servers, plain, small)
        relay = OutboxRelay(None, settings)
        await relay.start()
        try:
            return await relay.send(rows)
        finally:
            await relay.stop()

    acknowledged = asyncio.run(send())
    assert {1, 4, 5} <= set(acknowledged) and 2 not in acknowledged  # row 3 may have shared row 2's batch
    assert sent_in_order(rows, acknowledged) == [1, 4, 5]  # row 3 waits for row 2 whether it landed or not
    received = asyncio.run(read_topics([plain], settings.bootstrap_servers))
    assert [(m.key, m.message_id) for m in received] == [("k", "m1"), ("k", "m4"), ("other", "m5")]
