"""The inbound topics consumed with aiokafka directly, inside the faust app (``COHORTPLAN_CONSUMER=aiokafka``, the
default since session 5; ``faust``, the ingest agents, is the path before it, kept for one release: tests/faults,
the Kafka integration tests and the streams unit tests passed on this path, 86 of 86, before the switch, and the
end-to-end Kafka test runs on both).

faust's per-message machinery (its conductor, streams, events and acknowledgements) costs 90–106 µs of CPU
per message counting only (BENCHMARKS.md, "Kafka worker throughput (issue 16)"): on one core that alone caps
a worker near 10,000 messages a second, and it is most of what the worker spends on the Kafka side. Here the
inbound topics are read with ``getmany`` batches instead; faust keeps everything else (the replan topic and its
agent, timers, the web pages, the producer).

- **Group**: its own consumer group, ``<app id>.inbound`` (:attr:`StreamSettings.inbound_group`): two
  protocols cannot share one group, and faust's group then holds only the replan topic, whose partitions decide
  who plans a region (fenced in the database, :mod:`streams.replan`). The two assignments are independent, as
  they already were in meaning. Range assignment: partition *n* of every inbound topic goes to one worker.
- **Offsets**: the database is the source of truth, exactly as on the faust path. On assignment each partition
  is sought to the database's applied offset + 1 (0 when it has none) and the intake's
  :class:`~streams.intake.OffsetGate` reset to the same; nothing auto-commits. The group's committed offsets
  are written every ``COMMIT_EVERY_S`` from what the database has applied, for ``cohortplan health`` and
  operators only: they are never read back.
- **Ordering**: each ``getmany`` batch is decoded once, admitted by the gate and queued in the event-time merge,
  which applies batches of up to ``COHORTPLAN_BATCH_MAX`` in one transaction with their offsets, one at a time
  (per-event idempotency and dead-lettering unchanged, :meth:`EngineService.apply`). A rebalance (or a re-sync)
  bumps a generation; records fetched under an older one are dropped, never admitted. Partitions are given up
  only once the batch in flight committed (up to ``REVOKE_WAIT_S``), as on the faust path.
- **After a database outage** the intake re-syncs (:meth:`InboundConsumer.resync`): it re-reads the applied
  offsets from the database, drops what it had queued, and seeks every owned partition there. A PostgreSQL
  without ``synchronous_commit`` can lose transactions it acknowledged when it crashes; the stream then
  resumes from what the database really holds instead of from the consumer's position in memory.
- ``/ready`` and the merge's "caught up" use the consumer's high-water marks (updated by every fetch response).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.structs import OffsetAndMetadata

from streams.intake import Intake, raw_event
from streams.merge import TP
from streams.service import EngineService
from streams.settings import StreamSettings

log = logging.getLogger(__name__)

FETCH_WAIT_MS = 200     # getmany returns as soon as anything arrived; this only bounds an idle wait
COMMIT_EVERY_S = 1.0    # the group's committed offsets (informational) follow the database this often
COMMIT_TIMEOUT_S = 5.0  # ...and a commit that does not come back in this long is given up (the next one follows)
RETRY_S = (0.5, 1.0, 2.0, 5.0)


class InboundConsumer(ConsumerRebalanceListener):
    """An aiokafka consumer of the inbound topics feeding the :class:`~streams.intake.Intake`."""

    def __init__(self, settings: StreamSettings, service: EngineService, intake: Intake) -> None:
        self.settings, self.service, self.intake = settings, service, intake
        self.consumer: AIOKafkaConsumer | None = None
        self.generation = 0           # bumped by every assignment, revocation and re-sync
        self.owned: list[TP] = []
        self.resyncs = 0
        self._committed: dict[TP, int] = {}
        self._last_commit = 0.0
        self._committing: asyncio.Task | None = None
        intake.on_outage = self.resync

    def _make(self) -> AIOKafkaConsumer:
        s = self.settings
        return AIOKafkaConsumer(
            bootstrap_servers=s.bootstrap_servers, group_id=s.inbound_group, client_id=f"{s.worker_id}-inbound",
            enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_uncommitted",
            session_timeout_ms=int(s.session_timeout_s * 1000), heartbeat_interval_ms=int(s.session_timeout_s * 1000 / 3),
            partition_assignment_strategy=(RangePartitionAssignor,), max_partition_fetch_bytes=4 * 1024 * 1024)

    # the broker's view ---------------------------------------------------------------------------
    def highwater(self, tp: TP) -> int | None:
        """The broker's end of an owned partition at the last fetch; None before one or when not owned."""
        consumer = self.consumer
        if consumer is None:
            return None
        try:
            return consumer.highwater(TopicPartition(*tp))
        except Exception:  # noqa: BLE001 - not assigned (any more)
            return None

    # rebalance listener ------------------------------------------------------------------------------
    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self.generation += 1
        gone = [(tp.topic, tp.partition) for tp in revoked]
        await self.intake.settle_before_giving_up(gone, self.settings.worker_id)  # as on the faust path
        await self._commit(force=True)
        self.intake.revoke(gone)
        self.intake.gate.forget(gone)  # a record of them still arriving is dropped, never admitted
        self.owned = [tp for tp in self.owned if tp not in gone]
        log.info("worker %s gives up inbound partitions %s", self.settings.worker_id, _names(gone))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self.generation += 1
        partitions = sorted((tp.topic, tp.partition) for tp in self.consumer.assignment())
        applied = await self._applied_offsets()
        self._seek(partitions, applied)
        self.intake.assign(partitions, applied)
        self.owned = partitions
        self._committed = {tp: applied[tp] + 1 for tp in partitions if tp in applied}
        log.info("worker %s owns inbound partitions %s (group %s), resuming after the database's offsets",
                 self.settings.worker_id, _names(partitions), self.settings.inbound_group)

    async def _applied_offsets(self) -> dict[TP, int]:
        """The database's applied offsets, waiting for the database as long as it takes (never guessed)."""
        attempt = 0
        while True:
            try:
                return await self.service.offsets()
            except Exception as exc:  # noqa: BLE001 - the database is down: the partitions wait for it
                delay = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                log.error("cannot read the applied offsets (%r); retrying in %.1f s", exc, delay)
                attempt += 1
                await asyncio.sleep(delay)

    def _seek(self, partitions: list[TP], applied: dict[TP, int]) -> None:
        for tp in partitions:
            self.consumer.seek(TopicPartition(*tp), applied[tp] + 1 if tp in applied else 0)

    def _rewind(self) -> None:
        """Put every owned partition back at the gate's next expected offset: a fetch dropped for its generation
        may hold records read after a seek of the new one, and the consumer's position is past them."""
        for tp, offset in self.intake.gate.next_offsets().items():
            if self._assigned(tp):
                self.consumer.seek(TopicPartition(*tp), offset)

    async def resync(self) -> None:
        """After a database outage: resume every owned partition from the offsets the database holds now."""
        self.generation += 1
        self.resyncs += 1
        applied = await self._applied_offsets()
        partitions = [tp for tp in self.owned if self.consumer is None or self._assigned(tp)]
        moved = {tp: (self.intake.applied_next.get(tp), applied.get(tp, -1) + 1) for tp in partitions
                 if self.intake.applied_next.get(tp) != applied.get(tp, -1) + 1}
        if self.consumer is not None:
            self._seek(partitions, applied)
        self.intake.resync(partitions, applied)
        if moved:
            log.warning("after the database outage the database holds less than this worker applied "
                        "(acknowledged commits lost?): resuming %s",
                        ", ".join(f"{t}:{p} at {new} (was {old})" for (t, p), (old, new) in sorted(moved.items())))
        else:
            log.info("after the database outage: resuming every inbound partition from the database's offsets")

    def _assigned(self, tp: TP) -> bool:
        return TopicPartition(*tp) in self.consumer.assignment()

    # the loop --------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Consume for ever (a faust app task): fetch, admit, queue for the merge; commit now and then."""
        self.consumer = consumer = self._make()
        consumer.subscribe(list(self.settings.inbound_topics), listener=self)
        await consumer.start()
        try:
            while True:
                try:
                    await self.poll()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - e.g. a broker restart: aiokafka reconnects, keep polling
                    log.exception("inbound consumer failed; polling again")
                    await asyncio.sleep(1.0)
        finally:
            await asyncio.shield(self._stop(consumer))

    async def poll(self) -> int:
        """One fetch: the records of the current generation, admitted and queued; returns how many were queued."""
        consumer, generation = self.consumer, self.generation
        batches = await consumer.getmany(timeout_ms=FETCH_WAIT_MS, max_records=self.settings.batch_max)
        if generation != self.generation:  # a rebalance or re-sync while fetching: these records are dropped,
            if batches:                      # and the consumer, moved past them, goes back to what the gate expects
                self._rewind()
            return 0
        items = [raw_event(record) for records in batches.values() for record in records]
        queued = await self.intake.take_records(items)
        if self._committing is None or self._committing.done():  # never in the fetch's way: a commit can wait
            self._committing = asyncio.create_task(self._commit())  # for the group coordinator for a long time
        return queued

    async def _commit(self, force: bool = False) -> None:
        """Commit to the group what the database has applied (informational: never read back)."""
        now = time.monotonic()
        if self.consumer is None or (not force and now - self._last_commit < COMMIT_EVERY_S):
            return
        self._last_commit = now
        offsets = {TopicPartition(*tp): OffsetAndMetadata(n, "") for tp, n in self.intake.applied_next.items()
                   if n and self._committed.get(tp) != n and self._assigned(tp)}
        if not offsets:
            return
        try:
            await asyncio.wait_for(self.consumer.commit(offsets), COMMIT_TIMEOUT_S)
            self._committed.update({(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()})
        except Exception as exc:  # noqa: BLE001 - only operators read them; the next round tries again
            log.debug("committing the inbound group's offsets failed: %r", exc)

    async def _stop(self, consumer: AIOKafkaConsumer) -> None:
        if self._committing is not None:
            self._committing.cancel()
        try:
            await consumer.stop()
        except Exception:  # noqa: BLE001 - stopping anyway
            log.exception("stopping the inbound consumer failed")


def _names(tps: Iterable[TP]) -> str:
    return ", ".join(f"{t}:{p}" for t, p in tps) or "none"
