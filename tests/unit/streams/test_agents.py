"""The worker's faust agents (COHORTPLAN_CONSUMER=faust; streams/consumer.py has its own tests) driven through ``agent.test_context()``: messages put on the agents' local
channels, no broker. The engine behind them is real, on the in-memory store; tests/integration/kafka runs the
same worker against a real broker and database."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from engine.settings import EngineSettings
from streams.app import Worker
from streams.kafka_io import route
from streams.replan import region_partition
from streams.settings import StreamSettings
from tests.support.events import person_with_referral
from tests.support.polling import wait_until_async

PARTITIONS = 3


@pytest.fixture
def make_worker(tmp_path, memory_bootstrap) -> Callable[[str], Worker]:
    made: list[Worker] = []

    def make(name: str = "w") -> Worker:
        settings = StreamSettings(app_id=f"test-{name}", data_dir=str(tmp_path / "faust"), web_enabled=False,
                                  merge_idle_s=0, partitions=PARTITIONS, consumer="faust")
        engine = memory_bootstrap(EngineSettings(allocator="current-practice"))
        worker = Worker(settings, engine)
        worker.intake.assign([(topic, 0) for topic in settings.inbound_topics], {})
        made.append(worker)
        return worker
    yield make
    for worker in made:
        worker.service.close()


@asynccontextmanager
async def ingest_agents(worker: Worker) -> AsyncIterator[Callable[[str], Awaitable]]:
    """Every ingest agent in test mode; yields ``put(line)``, which sends a line to its inbound topic's agent
    and returns the faust event."""
    async with AsyncExitStack() as stack:
        agents = {name: await stack.enter_async_context(agent.test_context())
                  for name, agent in worker.ingest_agents.items()}

        async def put(line: str):
            routed = route(line, json.loads(line), worker.settings)
            event = await agents[routed.topic].put(routed.value, key=routed.key, wait=False)
            # A real consumer's conductor holds one reference per stream it delivers a message to, which the
            # stream's acknowledgement releases; test mode's channel takes none, so take it here.
            event.message.incref()
            return event
        yield put


@asynccontextmanager
async def applying(worker: Worker) -> AsyncIterator[None]:
    """The merger task (faust's app.task, not started in test mode), for the duration of the block."""
    task = asyncio.create_task(worker.intake.run())
    try:
        yield
    finally:
        task.cancel()


async def _applied(worker: Worker, count: int) -> bool:
    return sum(offset + 1 for offset in (await worker.service.offsets()).values()) >= count


class SentRequests:
    """The replan topic of a worker that owns no region: what it was asked to send, forwarded to ``owner``."""

    def __init__(self, owner=None) -> None:
        self.sent: list[dict] = []
        self.owner = owner  # another worker's replan agent in test mode

    async def send(self, key: bytes, value: bytes, partition: int) -> None:
        self.sent.append(dict(key=key, value=value, partition=partition))
        if self.owner is not None:
            await self.owner.put(value, key=key, partition=partition)


async def test_a_message_is_acknowledged_only_once_the_batch_that_applies_it_committed(make_worker):
    worker = make_worker()
    lines = person_with_referral("X000001")
    async with ingest_agents(worker) as put:
        events = [await put(line) for line in lines]
        await wait_until_async(lambda: len(worker.intake.acks) == len(lines), timeout=10)
        assert not any(e.message.acked for e in events)  # taken and queued, not applied yet
        async with applying(worker):
            await wait_until_async(lambda: _applied(worker, len(lines)), timeout=10)
            await wait_until_async(lambda: all(e.message.acked for e in events), timeout=10)
    assert worker.service.stats.ingest.applied == len(lines) and len(worker.intake.acks) == 0


async def test_messages_the_database_applied_already_are_dropped_on_the_way_in(make_worker):
    worker = make_worker()
    sentences = worker.settings.topic_sentences
    worker.intake.assign([(topic, 0) for topic in worker.settings.inbound_topics], {(sentences, 0): 1})
    lines = person_with_referral("X000001")
    async with ingest_agents(worker) as put, applying(worker):
        for line in lines:
            await put(line)
        await wait_until_async(lambda: _applied(worker, len(lines)), timeout=10)
    # offsets 0 and 1 of the sentences topic were applied before: only the other three reach the engine
    assert worker.service.stats.ingest.received == len(lines) - 2
    assert worker.intake.gate.gaps == 0


async def test_a_region_this_worker_owns_is_noted_here_without_a_message_on_the_replan_topic(make_worker):
    worker = make_worker()
    worker.requests.topic = topic = SentRequests()
    worker.scheduler.own(set(range(PARTITIONS)))
    lines = person_with_referral("X000001")
    async with ingest_agents(worker) as put, applying(worker):
        for line in lines:
            await put(line)
        await wait_until_async(lambda: worker.scheduler.debouncer.pending, timeout=10)
    assert worker.scheduler.debouncer.pending == ["RS"]
    assert topic.sent == []


async def test_a_region_owned_elsewhere_goes_to_its_owner_whose_replan_agent_notes_it(make_worker):
    worker, owner = make_worker("here"), make_worker("owner")
    owner.scheduler.own({region_partition("RS", PARTITIONS)})
    async with owner.replan_agent.test_context() as owner_replan:
        worker.requests.topic = topic = SentRequests(owner=owner_replan)
        async with ingest_agents(worker) as put, applying(worker):
            for line in person_with_referral("X000001") + person_with_referral("X000002"):
                await put(line)
            await wait_until_async(lambda: _applied(worker, 10), timeout=10)
            await wait_until_async(lambda: owner.scheduler.debouncer.pending, timeout=10)
    assert owner.scheduler.debouncer.pending == ["RS"] and worker.scheduler.debouncer.pending == []
    assert [json.loads(m["value"]) for m in topic.sent] == [{"region": "RS"}]  # one request in REQUEST_EVERY_S
    assert topic.sent[0]["key"] == b"RS" and topic.sent[0]["partition"] == region_partition("RS", PARTITIONS)


async def test_the_replan_agent_notes_each_region_it_is_asked_to_plan(make_worker):
    worker = make_worker()
    async with worker.replan_agent.test_context() as agent:
        await agent.put(json.dumps({"region": "R2"}).encode(), key=b"R2")
        await agent.put(json.dumps({"region": "R1"}).encode(), key=b"R1")
        await wait_until_async(lambda: len(worker.scheduler.debouncer.pending) == 2, timeout=10)
    assert worker.scheduler.debouncer.pending == ["R1", "R2"]


async def test_ready_only_once_it_owns_partitions_knows_their_ends_and_has_applied_everything(make_worker):
    worker = make_worker()
    worker.health.ready_max_lag = 0
    ends: dict = {}
    worker.intake.gate._highwater = ends.get  # the broker's ends, as the consumer reports them after a fetch
    assert not worker.health.readiness()["ready"] and len(worker.health.readiness()["end_unknown"]) == 3
    lines = person_with_referral("X000001")
    ends.update({(topic, 0): 0 for topic in worker.settings.inbound_topics})
    for line in lines:
        topic = route(line, json.loads(line), worker.settings).topic
        ends[(topic, 0)] += 1
    async with ingest_agents(worker) as put:
        for line in lines:
            await put(line)
        assert worker.health.readiness() | {"ready": None} == dict(
            ready=None, inbound_partitions=3, end_unknown=[], not_applied=len(lines), max_lag=0)
        assert not worker.health.readiness()["ready"]
        async with applying(worker):
            await wait_until_async(lambda: worker.health.readiness()["ready"], timeout=10)
    worker.intake.revoke(list(ends))  # a worker left without inbound partitions applies nothing: never ready
    assert worker.health.readiness()["inbound_partitions"] == 0 and not worker.health.readiness()["ready"]


async def test_a_backlog_is_applied_in_transactions_of_at_most_batch_max_messages(tmp_path, memory_bootstrap):
    settings = StreamSettings(app_id="test-batches", data_dir=str(tmp_path / "faust"), web_enabled=False,
                              merge_idle_s=0, partitions=PARTITIONS, batch_max=2, batch_within_s=0.001,
                              consumer="faust")
    worker = Worker(settings, memory_bootstrap(EngineSettings(allocator="current-practice")))
    worker.intake.assign([(topic, 0) for topic in settings.inbound_topics], {})
    lines = person_with_referral("X000001")
    assert len(lines) == 5
    try:
        async with ingest_agents(worker) as put:
            events = [await put(line) for line in lines]
            await wait_until_async(lambda: len(worker.intake.acks) == len(lines), timeout=10)  # the backlog
            async with applying(worker):
                await wait_until_async(lambda: _applied(worker, len(lines)), timeout=10)
                await wait_until_async(lambda: all(e.message.acked for e in events), timeout=10)
        assert worker.service.stats.batches == 3  # 2 + 2 + 1: one transaction per released batch
        assert worker.service.stats.ingest.applied == len(lines)
    finally:
        worker.service.close()


def test_an_ingest_agent_always_has_a_wait_to_fill_its_batch():
    from pydantic import ValidationError

    assert StreamSettings().batch_within_s == 0.005
    with pytest.raises(ValidationError):  # faust's take_events without a timeout waits for a full batch
        StreamSettings(batch_within_s=0)
