"""The session broker is a real, working Kafka: keyed ordering, durability across restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from tests.support.kafka_broker import KafkaBroker

TIMEOUT = 60.0  # generous: shared, noisy machines


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _consume(consumer: AIOKafkaConsumer, count: int) -> list[ConsumerRecord]:
    """Exactly the next ``count`` records, or fail after TIMEOUT."""
    records: list[ConsumerRecord] = []

    async def drain() -> None:
        while len(records) < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=count - len(records))
            for batch in batches.values():
                records.extend(batch)

    await asyncio.wait_for(drain(), TIMEOUT)
    return records


async def test_keyed_messages_round_trip_in_per_key_order(kafka_broker: KafkaBroker) -> None:
    topic = _name("roundtrip")
    kafka_broker.create_topics([topic], partitions=3)
    keys = [f"crn-{i}" for i in range(10)]
    sent = [(keys[i % len(keys)], f"{keys[i % len(keys)]}:{i // len(keys)}") for i in range(100)]

    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_broker.bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, value.encode(), key=key.encode()) for key, value in sent]
        await producer.flush()
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    assert {m.partition for m in metadata} == {0, 1, 2}, "10 keys should spread over 3 partitions"

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_broker.bootstrap,
        group_id=_name("g-roundtrip"),
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        records = await _consume(consumer, len(sent))
        assert consumer.partitions_for_topic(topic) == {0, 1, 2}
    finally:
        await consumer.stop()

    assert len(records) == len(sent)
    by_key: dict[str, list[str]] = defaultdict(list)
    partitions_of_key: dict[str, set[int]] = defaultdict(set)
    for r in records:
        by_key[r.key.decode()].append(r.value.decode())
        partitions_of_key[r.key.decode()].add(r.partition)
    # Each key lives on one partition and reads back in the order it was produced.
    assert all(len(p) == 1 for p in partitions_of_key.values())
    for key in keys:
        assert by_key[key] == [f"{key}:{n}" for n in range(10)]


async def test_restart_keeps_messages_and_committed_offsets(kafka_broker: KafkaBroker) -> None:
    topic, group = _name("restart"), _name("g-restart")
    tp = TopicPartition(topic, 0)
    kafka_broker.create_topics([topic])
    bootstrap = kafka_broker.bootstrap

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in (b"before-1", b"before-2"):
            await producer.send_and_wait(topic, value, partition=0)

        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=group,
            enable_auto_commit=False, auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            (first,) = await _consume(consumer, 1)
            assert first.value == b"before-1"
            await consumer.commit({tp: first.offset + 1})
        finally:
            await consumer.stop()

        pid_before = kafka_broker.pid
        await asyncio.to_thread(kafka_broker.restart)
        assert kafka_broker.is_running() and kafka_broker.pid != pid_before
        assert kafka_broker.bootstrap == bootstrap  # same address: clients just reconnect

        # The producer from before the restart reconnects on its own.
        await asyncio.wait_for(producer.send_and_wait(topic, b"after", partition=0), TIMEOUT)
    finally:
        await producer.stop()

    # The group resumes at its committed offset: it sees before-2, never before-1 again.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group,
        enable_auto_commit=False, auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        assert await consumer.committed(tp) == 1
        resumed = await _consume(consumer, 2)
        assert [r.value for r in resumed] == [b"before-2", b"after"]
    finally:
        await consumer.stop()

    # And the very first message is still on disk.
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        reader.assign([tp])
        await reader.seek_to_beginning(tp)
        everything = await _consume(reader, 3)
        assert [r.value for r in everything] == [b"before-1", b"before-2", b"after"]
    finally:
        await reader.stop()


def test_broker_logs_through_log4j2(kafka_broker: KafkaBroker) -> None:
    # Guards the slf4j wiring: with kafka's own slf4j-api 1.7 the broker logs nothing at all.
    log = kafka_broker.server_log.read_text(errors="replace")
    assert "Kafka Server started" in log
