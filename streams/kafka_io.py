"""Plain aiokafka clients for the command line and tests: send an event file, read a topic, measure lag."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from engine.events.registry import INBOUND
from engine.services.replay import Pace, event_time_key, read_lines
from streams.settings import StreamSettings


@dataclass(frozen=True)
class Routed:
    topic: str
    key: bytes
    value: bytes


def route(raw: str, parsed: dict | None, settings: StreamSettings) -> Routed:
    """The inbound topic and key of one event line; ValueError says why it cannot be routed."""
    if parsed is None:
        raise ValueError("not a JSON object")
    event_type = parsed.get("event_type")
    if event_type not in INBOUND:
        raise ValueError(f"unknown inbound event_type {event_type!r}")
    key = parsed.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError("no envelope key (the partition key, usually the crn)")
    return Routed(settings.inbound_topic(INBOUND[event_type].topic), key.encode(), raw.encode())


def plan_file(path: Path, settings: StreamSettings) -> tuple[list[Routed], list[tuple[int | None, str]]]:
    """Routable lines in event-time order (so each partition is in event-time order), and the rest."""
    routed, skipped = [], []
    for item in sorted(read_lines(path), key=event_time_key):
        try:
            routed.append(route(item.raw, item.parsed, settings))
        except ValueError as exc:
            skipped.append((item.line_number, str(exc)))
    return routed, skipped


def idempotent_producer(bootstrap: str, **options: Any) -> AIOKafkaProducer:
    """A producer whose retries the broker recognises (``enable_idempotence``; acks from every in-sync replica): a
    batch written but not acknowledged before a broker went away is not written twice when the producer sends it
    again."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **options)


async def produce(messages: Iterable[Routed], bootstrap: str, progress: Callable[[int], None] | None = None,
                  rate: float | None = None, chunk: int = 500, ordered: bool = False) -> dict[str, int]:
    """Send messages (acks=all, idempotent producer), optionally at a fixed rate (messages per second).

    Each partition gets its messages in order, but batches for different partitions reach the broker when each
    is ready, so a worker reading while this runs can see one topic's later events before another's earlier
    ones and (rightly, as for a late producer) apply them in that order. ``ordered`` sends each message only
    once the one before it is acknowledged, so the broker always holds a prefix of ``messages``: what sources
    whose clocks move with the wall give a running worker, at the cost of a round trip per message."""
    chunk = 1 if ordered else chunk
    # at a fixed rate each message is acknowledged before the next: lingering would batch nothing, only delay it
    producer = idempotent_producer(bootstrap, linger_ms=0 if ordered or rate else 5)
    await producer.start()
    sent: dict[str, int] = {}
    try:
        pending, loop = [], asyncio.get_running_loop()
        pace = Pace(rate, loop.time) if rate else None  # message n due n / rate s after the first
        for n, message in enumerate(messages):
            if pace and (delay := pace.wait(n)) > 0:
                await asyncio.sleep(delay)
            pending.append(await producer.send(message.topic, message.value, key=message.key))
            sent[message.topic] = sent.get(message.topic, 0) + 1
            if len(pending) >= chunk or rate:
                await asyncio.gather(*pending)
                if progress:
                    progress(len(pending))
                pending.clear()
        await asyncio.gather(*pending)
        if progress and pending:
            progress(len(pending))
    finally:
        await producer.stop()
    return sent


@dataclass(frozen=True)
class Received:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str
    message_id: str | None
    event_type: str | None

    def json(self) -> dict:
        return json.loads(self.value)


async def read_topics(topics: Iterable[str], bootstrap: str, idle_s: float = 2.0, limit: int | None = None,
                      from_beginning: bool = True, follow: bool = False,
                      on_message: Callable[[Received], None] | None = None) -> list[Received]:
    """Read topics (no consumer group) until ``idle_s`` passes without a message (unless ``follow``)."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest" if from_beginning else "latest")
    await consumer.start()
    out: list[Received] = []
    try:
        while limit is None or len(out) < limit:
            batches = await consumer.getmany(timeout_ms=int(idle_s * 1000), max_records=1000)
            if not batches and not follow:
                break
            for records in batches.values():
                for r in records:
                    headers = {k: v.decode() for k, v in (r.headers or ())}
                    item = Received(r.topic, r.partition, r.offset, r.key.decode() if r.key else None,
                                    r.value.decode("utf-8", errors="replace") if r.value else "",
                                    headers.get("message_id"), headers.get("event_type"))
                    out.append(item)
                    if on_message:
                        on_message(item)
    finally:
        await consumer.stop()
    return out


async def lag(settings: StreamSettings, applied: dict[tuple[str, int], int]) -> list[dict]:
    """Per inbound partition: end offset, the inbound consumer group's committed offset (informational: the
    worker resumes from the database's) and the database's applied offset (the engine's own record, written
    with the state), and the lag behind the end."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    consumer = AIOKafkaConsumer(*settings.inbound_topics, bootstrap_servers=settings.bootstrap_servers,
                                group_id=None, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.inbound_group)
        missing = [t for t in settings.inbound_topics if not consumer.partitions_for_topic(t)]
        if missing:
            raise LookupError(f"inbound topic(s) {', '.join(missing)} do not exist on this broker yet: start "
                              "the worker (it declares them) or produce to them")
        parts = [TopicPartition(t, p) for t in settings.inbound_topics
                 for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(parts) if parts else {}
    finally:
        await consumer.stop()
        await admin.close()
    rows = []
    for tp in parts:
        last = applied.get((tp.topic, tp.partition))
        meta = committed.get(tp)
        rows.append(dict(topic=tp.topic, partition=tp.partition, end=ends[tp],
                         committed=meta.offset if meta else None, applied=last,
                         lag=max(0, ends[tp] - (last + 1 if last is not None else 0))))
    return rows
