"""The inbound side of a worker: from a faust message to a batch applied and acknowledged.

- :func:`raw_event` turns a faust message into the engine's :class:`RawEvent`, decoded once.
- :class:`OffsetGate` admits each inbound partition's messages once, contiguously from the offset the
  database stored with the state.
- :class:`PendingAcks` holds a message's acknowledgement until the transaction that applied it committed,
  so the broker's committed offset never runs ahead of the database.
- :class:`Intake` is what the ingest agents (or the aiokafka consumer, :mod:`streams.consumer`) and the merger
  task run: admit → hold → merge in event-time order → apply → acknowledge → hand the regions the batch changed
  to ``on_dirty``. With ``on_outage`` set (the aiokafka path), a batch that failed because the database was down
  is not retried from memory: ``on_outage`` re-reads the database's offsets and the stream resumes from there.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from engine.services.messages import RawEvent, decode_or_error
from engine.services.replay import object_or_none
from streams.merge import TP, EventTimeMerger
from streams.service import DatabaseWasDown, EngineService

log = logging.getLogger(__name__)
MAX_REFETCH = 3  # times a partition is read again from the expected offset before a gap is accepted
REVOKE_WAIT_S = 20.0  # a batch in flight when partitions are revoked: how long to let it commit first


def text(value: bytes | str | None) -> str:
    """A message key or value as text (bytes that are not UTF-8 replaced, not refused)."""
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)


def raw_event(message: Any) -> RawEvent:
    """The engine's view of a faust message or an aiokafka record (both have topic, partition, offset and
    value), decoded once here: the merge and the ingestor both use it."""
    value = message.value
    try:
        raw, exact = (value.decode("utf-8"), None) if isinstance(value, (bytes, bytearray)) else (text(value), None)
    except UnicodeDecodeError:  # kept as bytes too, so a dead letter carries them exactly
        raw, exact = value.decode("utf-8", errors="replace"), bytes(value)
    parsed = object_or_none(raw)
    return RawEvent(raw, message.topic, partition=message.partition, offset=message.offset, parsed=parsed,
                    raw_bytes=exact, decoded=decode_or_error(raw, parsed))


class OffsetGate:
    """The next offset to admit per inbound partition, starting from the database's applied offsets."""

    def __init__(self, highwater: Callable[[TP], int | None], can_seek: bool = False) -> None:
        self._highwater = highwater  # the broker's end of a partition at the last fetch; None: unknown
        self._expected: dict[TP, int] = {}
        self.gaps = 0
        self.can_seek = can_seek  # the consumer can be sent back to a partition's next expected offset
        self._refetch: dict[TP, list[int]] = {}  # per partition in a gap: [expected, lowest offset seen, seeks]
        self.seeks: dict[TP, int] = {}  # asked for, not yet done: partition → offset to read from

    def reset(self, partitions: Iterable[TP], applied: dict[TP, int]) -> None:
        """Own exactly these partitions now, each resuming after its applied offset."""
        self._expected = {tp: applied[tp] + 1 if tp in applied else 0 for tp in partitions}
        self._refetch.clear()
        self.seeks.clear()

    def next_offsets(self) -> dict[TP, int]:
        """Per owned partition, the offset it admits next."""
        return dict(self._expected)

    def take_seeks(self) -> dict[TP, int]:
        seeks, self.seeks = self.seeks, {}
        return seeks

    def forget(self, partitions: Iterable[TP]) -> None:
        """These partitions are not owned any more."""
        for tp in partitions:
            self._expected.pop(tp, None)

    def __contains__(self, tp: TP) -> bool:
        return tp in self._expected

    def admit(self, item: RawEvent) -> bool:
        """Admit each partition's messages once, contiguously from the database's stored offset.

        Messages below the next expected offset were applied already (the committed offset lags the
        database after a crash): they are dropped. A message past the next expected offset (a gap: the
        consumer was positioned past what the database applied, e.g. by a group offset committed ahead of
        it, or messages fetched before a rebalance and dropped with the partition) is not admitted: the
        consumer is sent back to the expected offset (:attr:`seeks`), up to :data:`MAX_REFETCH` times. Only
        a gap that re-reading cannot close (the broker no longer has those offsets) is logged, counted and
        accepted.
        """
        tp = (item.origin, item.partition or 0)
        expected = self._expected.get(tp)
        if expected is not None and item.offset is not None and item.offset < expected:
            return False
        if expected is not None and item.offset is not None and item.offset > expected:
            if self._refetch_instead(tp, expected, item.offset):
                return False
            self.gaps += 1
            log.error("%s[%d]: offsets %d..%d are not on the broker any more (re-read %d times) and are skipped",
                      *tp, expected, item.offset - 1, MAX_REFETCH)
        self._refetch.pop(tp, None)
        self._expected[tp] = (item.offset or 0) + 1
        return True

    def _refetch_instead(self, tp: TP, expected: int, offset: int) -> bool:
        """Whether to drop this message and read the partition again from ``expected``. Messages after the
        first one past the gap were fetched before the seek took effect and are dropped quietly; a message at
        or before the lowest offset seen means the re-read came back past the gap again."""
        if not self.can_seek:
            return False
        state = self._refetch.get(tp)
        if state is None or state[0] != expected:
            state = self._refetch[tp] = [expected, offset, 0]
        if offset <= state[1]:
            if state[2] >= MAX_REFETCH:
                return False
            state[2] += 1
            self.seeks[tp] = expected
            log.warning("%s[%d]: offset %d arrived when %d was expected (the database's next); reading the "
                        "partition again from %d", *tp, offset, expected, expected)
        state[1] = min(state[1], offset)
        return True

    def behind(self, tp: TP) -> bool:
        """The broker is known to hold messages of this partition not yet admitted (at the last fetch)."""
        expected, highwater = self._expected.get(tp), self._highwater(tp)
        return expected is not None and highwater is not None and expected < highwater

    def caught_up(self, tp: TP) -> bool:
        """Everything the broker had in this partition at the last fetch was admitted."""
        expected, highwater = self._expected.get(tp), self._highwater(tp)
        return expected is not None and highwater is not None and expected >= highwater

    def end(self, tp: TP) -> int | None:
        """The broker's end of this partition at the last fetch; None before one."""
        return self._highwater(tp)

    def lag(self, partitions: Iterable[TP]) -> dict[str, int]:
        """Messages on the broker not yet admitted, per partition (at the last fetch)."""
        out = {}
        for tp in partitions:
            highwater = self._highwater(tp)
            if highwater is not None:
                out[f"{tp[0]}:{tp[1]}"] = max(0, highwater - self._expected.get(tp, 0))
        return out


class PendingAcks:
    """Faust events whose acknowledgement waits for the commit of the batch that applies them.

    Each held message gets an extra reference, released on commit, so the acknowledgement faust gives
    when an agent hands a batch over does not complete it."""

    def __init__(self) -> None:
        self._events: dict[int, Any] = {}  # id(RawEvent) → its faust event

    def hold(self, item: RawEvent, event: Any) -> None:
        event.message.incref()
        self._events[id(item)] = event

    def release(self, items: Iterable[RawEvent]) -> None:
        """The batch committed: its messages may be committed on the broker."""
        for item in items:
            event = self._events.pop(id(item), None)
            if event is not None:
                event.ack()

    def forget(self, items: Iterable[RawEvent]) -> None:
        """Never applied here (the partition moved on): the next owner reads them again."""
        for item in items:
            self._events.pop(id(item), None)

    def __len__(self) -> int:
        return len(self._events)


class Intake:
    """Inbound messages, admitted once, applied in event-time order, then acknowledged."""

    def __init__(self, service: EngineService, gate: OffsetGate, on_dirty: Callable[[str], Awaitable[None]],
                 idle_s: float, batch_max: int, clock: Any) -> None:
        self.service, self.gate, self.on_dirty = service, gate, on_dirty
        self.acks = PendingAcks()
        self.applied_next: dict[TP, int] = {}  # per owned inbound partition: the next offset to apply
        self.on_outage: Callable[[], Awaitable[None]] | None = None  # the aiokafka path's re-sync from the database
        self.seeker: Callable[[dict[TP, int]], Awaitable[None]] | None = None  # the faust path: send its consumer back
        self.dropped_stale = 0  # records of partitions not owned (any more) when they arrived: never admitted
        self.merger = EventTimeMerger(self.apply, idle_s, batch_max, caught_up=gate.caught_up, behind=gate.behind,
                                      clock=clock)

    async def take(self, events: Iterable[Any]) -> None:
        """An ingest agent's batch of faust events: admit, hold the acknowledgement, queue for the merge."""
        admitted = []
        for event in events:
            item = raw_event(event.message)
            if self.gate.admit(item):
                self.acks.hold(item, event)
                admitted.append(item)
        seeks = self.gate.take_seeks()
        if seeks and self.seeker is not None:
            await self.seeker(seeks)
        await self.merger.submit(admitted)

    async def seek_to_applied(self, partitions: Iterable[TP]) -> None:
        """Position the consumer of these (just assigned) partitions after the database's applied offsets: the
        database, not the group's committed offsets, says where each resumes."""
        if self.seeker is not None:
            await self.seeker({tp: self.applied_next.get(tp, 0) for tp in partitions})

    async def take_records(self, items: Iterable[RawEvent]) -> int:
        """A fetch of the aiokafka consumer (nothing to acknowledge): admit and queue for the merge. A record of
        a partition not owned now (revoked while it was fetched) is dropped: its next owner reads it again."""
        admitted = []
        for item in items:
            if (item.origin, item.partition or 0) not in self.gate:
                self.dropped_stale += 1
            elif self.gate.admit(item):
                admitted.append(item)
        if admitted:
            await self.merger.submit(admitted)
        return len(admitted)

    async def apply(self, batch: list[RawEvent]) -> None:
        """A batch the merger released: apply it in one transaction, acknowledge it, pass on what changed."""
        try:
            result = await self.service.apply(batch, abort_on_outage=self.on_outage is not None)
        except DatabaseWasDown:  # the database may have lost acknowledged commits: it says where to resume
            await self.on_outage()
            return
        self.acks.release(batch)
        for item in batch:
            tp = (item.origin, item.partition or 0)
            if tp in self.applied_next and item.offset is not None:
                self.applied_next[tp] = max(self.applied_next[tp], item.offset + 1)
        for region in sorted(result.dirty_regions):
            await self.on_dirty(region)

    async def run(self) -> None:
        """The merger task: apply released batches for ever."""
        while True:
            try:
                await self.merger.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep applying; the batch is retried from the stored offsets
                log.exception("event-time merger failed; restarting it")
                await asyncio.sleep(1.0)

    def assign(self, partitions: list[TP], applied: dict[TP, int]) -> None:
        """Own these inbound partitions (a rebalance), resuming after the database's applied offsets."""
        self.gate.reset(partitions, applied)
        self.applied_next = {tp: applied[tp] + 1 if tp in applied else 0 for tp in partitions}
        self.revoke([tp for tp in self.merger.partitions if tp not in self.gate])
        self.merger.assign(partitions)

    def resync(self, partitions: list[TP], applied: dict[TP, int]) -> None:
        """Drop what is queued for these partitions and resume each after the database's applied offset."""
        self.acks.forget(self.merger.revoke(partitions))
        self.assign(partitions, applied)

    def unapplied(self) -> tuple[dict[str, int], list[str]]:
        """Per owned inbound partition, messages on the broker (at the last fetch) not applied here yet; and
        the partitions whose end is not known yet (no fetch came back)."""
        behind, unknown = {}, []
        for tp, next_offset in sorted(self.applied_next.items()):
            end = self.gate.end(tp)
            if end is None:
                unknown.append(f"{tp[0]}:{tp[1]}")
            else:
                behind[f"{tp[0]}:{tp[1]}"] = max(0, end - next_offset)
        return behind, unknown

    async def settle_before_giving_up(self, partitions: list[TP], worker_id: str) -> None:
        """Let the batch in flight commit before these partitions go, so their next owner starts from the offsets
        it writes (up to :data:`REVOKE_WAIT_S`; then the next owner applies it again, as duplicates)."""
        if partitions and not await self.merger.settled(REVOKE_WAIT_S):
            log.warning("worker %s gives up %d inbound partitions with a batch still uncommitted after %.0f s; "
                        "their next owner applies it again", worker_id, len(partitions), REVOKE_WAIT_S)

    def revoke(self, partitions: list[TP]) -> None:
        """Unapplied messages of revoked partitions are dropped, never acknowledged."""
        for tp in partitions:
            self.applied_next.pop(tp, None)
        self.acks.forget(self.merger.revoke(partitions))
