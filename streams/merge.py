"""Event-time merge of a worker's inbound partitions (watermark alignment).

Kafka orders messages within a partition only. A person's sentence, referral and delivery events are on
three topics, and a worker catching up consumes them at different speeds: applied as they arrive, an
assessment could land after a recall that happened weeks later. The merger holds each partition's
messages in a FIFO queue and releases them in event-time order (a k-way merge), like the embedded
replay's sort, as far as it is safe:

    a message is released when every other partition either has a queued message (its head is not
    earlier, or the merge would have picked it), has already delivered a message at least as late
    (its frontier: the time of its last valid message, as partitions are in event-time order), is caught up (everything up to the broker's
    high-water mark was admitted), or has delivered nothing for ``idle_s`` since its last delivery while
    not known to be behind the broker's high-water mark (a last resort; a partition that never
    delivered holds the others until it is caught up, and one with a known backlog is always waited for).

A message dated beyond the clock bounds (docs/events.md, "Clocks": a 2099 typo) is released first, like an
invalid one, without moving its partition's frontier: the ingest dead-letters it, and its claimed time never
holds back the rest of its partition while the other topics run ahead.

A live stream's partitions are caught up almost always, so order costs it nearly no latency; a worker
catching up (after a restart, or a bulk replay through Kafka) gets the replay's order.

With several workers, each merges only the partitions it owns; the others' are ordered by exchanging
**low watermarks** through the database (:meth:`lows`, :attr:`foreign`): for each partition it owns a
worker publishes the earliest event time it may still apply there (its queue's head, else the last
received, or none when caught up with nothing queued), and it releases a message only when no
partition owned elsewhere may still apply an earlier one. A worker that dies leaves its last lows
behind, so the others hold at its frontier until its partitions are re-assigned, instead of running
ahead and applying its backlog out of order afterwards. A partition this worker has just given up, and
one nobody has published a low for yet (a worker still starting), hold everything until their owner
publishes: a partition owned elsewhere is never taken to be empty. Partition order is never changed, so the applied offsets of a partition are contiguous and
messages are acknowledged (so their offsets committed) as their batch commits: the broker's committed
offset never runs ahead of the database, and agents need not wait for the merge before fetching more.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from datetime import datetime, timezone
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from engine.domain.clock import ClockBounds
from engine.events.decode import Decoded
from engine.services.ingest import RawEvent
from engine.services.replay import event_time_key

TP = tuple[str, int]
POLL_S = 0.02
INVALID = (0,)  # sorts before every event-time key


class EventTimeMerger:
    def __init__(self, apply: Callable[[list[RawEvent]], Awaitable[Any]], idle_s: float = 2.0,
                 batch_max: int = 1000, max_buffered: int = 50_000,
                 caught_up: Callable[[TP], bool] = lambda tp: False, clock: ClockBounds | None = None,
                 behind: Callable[[TP], bool] = lambda tp: False) -> None:
        self._apply, self.idle_s, self.batch_max, self.max_buffered = apply, idle_s, batch_max, max_buffered
        self.clock = clock or ClockBounds()  # an event dated out of bounds must not hold its partition back
        self._caught_up, self._behind = caught_up, behind
        self._queues: dict[TP, deque[tuple[tuple, RawEvent]]] = {}
        self._frontier: dict[TP, tuple] = {}      # event-time key of the last message received per partition
        self._arrived: dict[TP, float] = {}       # monotonic time of the last arrival per partition
        self.foreign: dict[TP, tuple | None] = {}  # partitions owned elsewhere → their low (None: no limit)
        self._inflight: dict[TP, tuple] = {}      # earliest key released per partition and not yet committed
        self._settled = asyncio.Event()            # no released batch is waiting for its commit
        self._settled.set()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.buffered = 0
        self.applied_batches = 0

    # partitions ---------------------------------------------------------------------------------
    def assign(self, partitions: Iterable[TP]) -> None:
        for tp in partitions:  # never idle before a first delivery: it may still be starting to fetch
            self._queues.setdefault(tp, deque())
        self._wake.set()

    def revoke(self, partitions: Iterable[TP]) -> list[RawEvent]:
        """Forget revoked partitions; returns their unapplied messages (the new owner reads them again)."""
        dropped = []
        for tp in partitions:
            if tp in self._queues:  # its new owner resumes from the database's offset: hold until it says how far
                self.foreign[tp] = ()
            dropped.extend(item for _, item in self._queues.pop(tp, ()))
            self._frontier.pop(tp, None)
            self._arrived.pop(tp, None)
        self.buffered -= len(dropped)
        self._signal_room()
        self._wake.set()
        return dropped

    def set_foreign(self, lows: dict[TP, tuple | None]) -> None:
        """The low watermarks of partitions other workers own (see the module docstring)."""
        self.foreign = {tp: low for tp, low in lows.items() if tp not in self._queues}
        self._wake.set()

    @property
    def partitions(self) -> list[TP]:
        return sorted(self._queues)

    # input --------------------------------------------------------------------------------------
    async def submit(self, events: Iterable[RawEvent]) -> None:
        """Queue messages (each partition's in offset order); waits while the buffer is full."""
        now = time.monotonic()
        for item in events:
            tp = (item.origin, item.partition or 0)
            queue = self._queues.setdefault(tp, deque())
            key = event_time_key(item) if _valid(item) else INVALID
            if key != INVALID and self._out_of_bounds(key):
                key = INVALID  # the ingest refuses it (docs/events.md, Clocks): its time must not block the rest
            if key != INVALID:  # an invalid one's claimed time means nothing: first out, and no frontier
                self._frontier[tp] = key
            queue.append((key, item))
            self._arrived[tp] = now
            self.buffered += 1
        self._wake.set()
        if self.buffered >= self.max_buffered:
            self._room.clear()
            await self._room.wait()

    def _out_of_bounds(self, key: tuple) -> bool:
        latest = max((k[1] for k in self._frontier.values() if len(k) > 1), default=None)
        return self.clock.refusal(key[1], latest, datetime.now(timezone.utc)) is not None

    def _signal_room(self) -> None:
        if self.buffered < self.max_buffered:
            self._room.set()

    # output -------------------------------------------------------------------------------------
    def release(self, now: float | None = None) -> list[RawEvent]:
        """Up to ``batch_max`` messages that are safe to apply now, in event-time order."""
        now = time.monotonic() if now is None else now
        out: list[RawEvent] = []
        while len(out) < self.batch_max:
            heads = [(q[0][0], tp) for tp, q in self._queues.items() if q]
            if not heads:
                break
            key, tp = min(heads)
            if not all(self._queues[t] or self._frontier.get(t, ()) >= key or self._caught_up(t)
                       or self._idle(t, now) for t in self._queues if t != tp):
                break
            if key != INVALID and any(low is not None and low < key for t, low in self.foreign.items()
                                      if t not in self._queues):
                break  # another worker may still apply something earlier
            item = self._queues[tp].popleft()[1]
            if key != INVALID:
                self._inflight[tp] = min(key, self._inflight.get(tp, key))
            out.append(item)
        self.buffered -= len(out)
        self._signal_room()
        return out

    def _idle(self, tp: TP, now: float) -> bool:
        """Delivered nothing for ``idle_s`` — and not known to be behind: a partition the broker says has
        more messages is waited for, however long (a broker outage makes every partition quiet at once,
        and the first to resume must not run ahead of the others' backlogs)."""
        return now - self._arrived.get(tp, now) >= self.idle_s and not self._behind(tp)

    def committed(self) -> None:
        """The batch :meth:`release` gave out is in the database: its messages no longer bound the lows."""
        self._inflight.clear()
        self._settled.set()

    @property
    def in_flight(self) -> bool:
        return not self._settled.is_set()

    async def settled(self, timeout: float) -> bool:
        """Wait until the batch being applied (if any) is committed — before partitions are given up, so
        their next owner starts from the offsets that batch commits; False if it did not within ``timeout``
        (the database is down: the next owner applies it again, and the later commit is a duplicate)."""
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def lows(self) -> dict[TP, tuple | None]:
        """Per owned partition, the earliest event-time key it may still apply: the earliest of a released
        batch not yet committed (if this worker dies now, the partition's next owner reads it again) and
        its queue's head; else the last key received (later messages are not earlier); None when caught up
        with nothing queued or in flight."""
        out: dict[TP, tuple | None] = {}
        for tp, queue in self._queues.items():
            if queue:
                low = queue[0][0]
            elif self._caught_up(tp):
                low = None
            else:
                low = self._frontier.get(tp, ())  # nothing received yet: may still hold anything
            inflight = self._inflight.get(tp)
            out[tp] = inflight if inflight is not None and (low is None or inflight < low) else low
        return out

    def next_deadline(self) -> float | None:
        """How long to wait before looking again while messages are held (a partition may catch up)."""
        return POLL_S if self.buffered else None

    async def run(self) -> None:
        """Apply released batches forever (one at a time, so the database sees event-time order)."""
        while True:
            batch = self.release()
            if batch:
                self._settled.clear()
                await self._apply(batch)
                self.committed()
                self.applied_batches += 1
                continue
            self._wake.clear()
            timeout = self.next_deadline()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except asyncio.TimeoutError:
                pass


def _valid(item: RawEvent) -> bool:
    outcome = item.decoding()
    return isinstance(outcome, Decoded)
