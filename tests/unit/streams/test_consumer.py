"""The aiokafka path of the worker's inbound topics (streams/consumer.py), driven with a fake consumer: no broker.
The engine behind it is real. tests/integration/kafka runs the same worker against a real broker."""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiokafka import TopicPartition

from engine.settings import EngineSettings
from streams.app import Worker
from streams.kafka_io import route
from streams.settings import StreamSettings
from tests.support.events import person_with_referral
from tests.support.polling import wait_until_async


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None


class FakeConsumer:
    """What the inbound consumer uses of an AIOKafkaConsumer: assignment, seek, getmany, highwater, commit."""

    def __init__(self, topics) -> None:
        self.log = {TopicPartition(t, 0): [] for t in topics}
        self.position = {tp: 0 for tp in self.log}
        self.fetched: set[TopicPartition] = set()
        self.seeks: list[tuple[str, int]] = []
        self.committed: dict[TopicPartition, int] = {}
        self.arrived: asyncio.Event | None = None  # made in the loop that fetches

    def append(self, topic: str, value: bytes) -> None:
        records = self.log[TopicPartition(topic, 0)]
        records.append(Record(topic, 0, len(records), value))
        if self.arrived is not None:
            self.arrived.set()

    def assignment(self) -> set[TopicPartition]:
        return set(self.log)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.position[tp] = offset
        self.seeks.append((tp.topic, offset))

    def highwater(self, tp: TopicPartition) -> int | None:
        return len(self.log[tp]) if tp in self.fetched else None

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        """As aiokafka's: what is there, else waits up to ``timeout_ms`` for something to arrive."""
        if self.arrived is None:
            self.arrived = asyncio.Event()
        if not any(len(records) > self.position[tp] for tp, records in self.log.items()):
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), timeout_ms / 1000)
            except asyncio.TimeoutError:
                pass
        out = {}
        for tp, records in self.log.items():
            self.fetched.add(tp)
            got = records[self.position[tp]:self.position[tp] + max_records]
            if got:
                out[tp] = got
                self.position[tp] += len(got)
        return out

    async def commit(self, offsets) -> None:
        self.committed.update({tp: meta.offset for tp, meta in offsets.items()})


def _worker(tmp_path, engine, name: str = "w") -> Worker:
    settings = StreamSettings(app_id=f"test-{name}", data_dir=str(tmp_path / "faust"), web_enabled=False,
                              merge_idle_s=0, partitions=3, consumer="aiokafka")
    worker = Worker(settings, engine)
    worker.scheduler.own(set(range(settings.partitions)))  # re-plan requests noted here, never sent to a broker
    return worker


def _send(worker: Worker, fake: FakeConsumer, lines: list[str]) -> None:
    for line in lines:
        fake.append(route(line, json.loads(line), worker.settings).topic, line.encode())


@asynccontextmanager
async def running(worker: Worker):
    """The fetch loop (polling the fake) and the merger task, for the duration of the block."""
    async def fetch():
        while True:
            await worker.inbound.poll()  # the fake's getmany waits for records as aiokafka's does
    tasks = [asyncio.create_task(worker.intake.run()), asyncio.create_task(fetch())]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()


async def _applied(worker: Worker, count: int) -> bool:
    return sum(offset + 1 for offset in (await worker.service.offsets()).values()) >= count


def test_the_aiokafka_path_reads_in_a_group_of_its_own():
    assert StreamSettings(app_id="g", consumer="aiokafka").inbound_group == "g.inbound"
    assert StreamSettings(app_id="g", consumer="faust").inbound_group == "g"


async def test_assignment_seeks_to_the_database_offsets_and_batches_are_applied_then_committed(
        tmp_path, memory_bootstrap):
    worker = _worker(tmp_path, memory_bootstrap(EngineSettings(allocator="current-practice")))
    assert worker.ingest_agents == {}  # faust reads no inbound topic on this path
    fake = FakeConsumer(worker.settings.inbound_topics)
    worker.inbound.consumer = fake
    try:
        lines = person_with_referral("X000001") + person_with_referral("X000002")
        _send(worker, fake, lines)
        await worker.inbound.on_partitions_assigned(fake.assignment())
        assert sorted(fake.seeks) == sorted((t, 0) for t in worker.settings.inbound_topics)  # nothing applied yet
        assert not worker.health.readiness()["ready"]  # no fetch yet: the ends are unknown
        async with running(worker):
            await wait_until_async(lambda: _applied(worker, len(lines)), timeout=10)
            await wait_until_async(lambda: worker.health.readiness()["ready"], timeout=10)
        assert worker.service.stats.ingest.applied + worker.service.stats.ingest.parked == len(lines)
        assert worker.service.stats.ingest.duplicates == 0

        # A rebalance gives the partitions back: each resumes after the database's offset, not from memory.
        fake.seeks.clear()
        await worker.inbound.on_partitions_revoked(fake.assignment())
        await worker.inbound.on_partitions_assigned(fake.assignment())
        ends = {tp.topic: len(records) for tp, records in fake.log.items()}
        assert sorted(fake.seeks) == sorted(ends.items())
        await worker.inbound._commit(force=True)
        assert {tp.topic: n for tp, n in fake.committed.items()} == {t: n for t, n in ends.items() if n}
    finally:
        worker.service.close()


async def test_records_fetched_before_a_rebalance_or_of_a_partition_not_owned_are_never_admitted(
        tmp_path, memory_bootstrap):
    worker = _worker(tmp_path, memory_bootstrap(EngineSettings(allocator="current-practice")))
    fake = FakeConsumer(worker.settings.inbound_topics)
    worker.inbound.consumer = fake
    try:
        _send(worker, fake, person_with_referral("X000001"))
        await worker.inbound.on_partitions_assigned(fake.assignment())
        real = fake.getmany

        async def rebalanced_meanwhile(**kwargs):
            got = await real(**kwargs)
            worker.inbound.generation += 1  # the listener ran while this fetch was under way
            return got
        fake.getmany = rebalanced_meanwhile
        assert await worker.inbound.poll() == 0 and worker.intake.merger.buffered == 0

        sentences = worker.settings.topic_sentences
        await worker.inbound.on_partitions_revoked([TopicPartition(sentences, 0)])
        fake.getmany = real
        for tp in fake.position:
            fake.position[tp] = 0
        queued = await worker.inbound.poll()
        assert worker.intake.dropped_stale == len(fake.log[TopicPartition(sentences, 0)]) > 0
        assert queued == sum(len(r) for r in fake.log.values()) - worker.intake.dropped_stale
        assert (sentences, 0) not in worker.intake.merger.partitions
    finally:
        worker.service.close()


@pytest.mark.parametrize("kind", ["aiokafka", "faust"])
def test_health_names_the_consumer_that_reads_the_inbound_topics(tmp_path, memory_bootstrap, kind):
    settings = StreamSettings(app_id=f"test-{kind}", data_dir=str(tmp_path / "faust"), web_enabled=False,
                              partitions=3, consumer=kind)
    worker = Worker(settings, memory_bootstrap(EngineSettings(allocator="current-practice")))
    try:
        assert worker.health.consumer()["kind"] == kind
        assert bool(worker.ingest_agents) == (kind == "faust")
    finally:
        worker.service.close()
