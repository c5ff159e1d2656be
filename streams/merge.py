"""Event-time merge of a worker's inbound partitions (watermark alignment).

Kafka orders messages within a partition only. A person's sentence, referral and delivery events are on
three topics, and a worker catching up consumes them at different speeds: applied as they arrive, an
assessment could land after a recall that happened weeks later. The merger holds each partition's
messages in a FIFO queue and releases them in event-time order (a k-way merge), like the embedded
replay's sort, as far as it is safe:

    a message is released when every other partition either has a queued message (its head is not
    earlier, or the merge would have picked it), has already delivered a message at least as late
    (its frontier: partitions are in event-time order), or has been idle for ``idle_s``.

So a caught-up partition holds the others back by at most ``idle_s``: the latency a live stream pays
for order. Partition order is never changed, so the applied offsets of a partition are contiguous and
the database's stored offset is where a restarted worker resumes (:meth:`Worker._on_assigned` seeks
there); that is why agents do not wait for their messages to be applied before fetching more.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from engine.services.ingest import RawEvent
from engine.services.replay import event_time_key

TP = tuple[str, int]


class EventTimeMerger:
    def __init__(self, apply: Callable[[list[RawEvent]], Awaitable[Any]], idle_s: float = 0.2,
                 batch_max: int = 1000, max_buffered: int = 50_000) -> None:
        self._apply, self.idle_s, self.batch_max, self.max_buffered = apply, idle_s, batch_max, max_buffered
        self._queues: dict[TP, deque[tuple[tuple, RawEvent]]] = {}
        self._frontier: dict[TP, tuple] = {}      # event-time key of the last message received per partition
        self._arrived: dict[TP, float] = {}       # monotonic time of the last arrival per partition
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.buffered = 0
        self.applied_batches = 0

    # partitions ---------------------------------------------------------------------------------
    def assign(self, partitions: Iterable[TP]) -> None:
        now = time.monotonic()
        for tp in partitions:
            self._queues.setdefault(tp, deque())
            self._arrived.setdefault(tp, now)
        self._wake.set()

    def revoke(self, partitions: Iterable[TP]) -> None:
        """Forget revoked partitions; their unapplied messages are re-read by the new owner."""
        for tp in partitions:
            self.buffered -= len(self._queues.pop(tp, ()))
            self._frontier.pop(tp, None)
            self._arrived.pop(tp, None)
        self._signal_room()
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
            key = event_time_key(item)
            queue.append((key, item))
            self._frontier[tp] = max(self._frontier.get(tp, key), key)
            self._arrived[tp] = now
            self.buffered += 1
        self._wake.set()
        if self.buffered >= self.max_buffered:
            self._room.clear()
            await self._room.wait()

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
            if not all(self._queues[t] or self._frontier.get(t, ()) >= key or now - self._arrived[t] >= self.idle_s
                       for t in self._queues if t != tp):
                break
            out.append(self._queues[tp].popleft()[1])
        self.buffered -= len(out)
        self._signal_room()
        return out

    def next_deadline(self, now: float) -> float | None:
        """Seconds until a waiting partition turns idle (when the merge may move again), if any."""
        waits = [self.idle_s - (now - self._arrived[t]) for t, q in self._queues.items() if not q]
        waits = [w for w in waits if w > 0]
        return min(waits) if waits and self.buffered else None

    async def run(self) -> None:
        """Apply released batches forever (one at a time, so the database sees event-time order)."""
        while True:
            batch = self.release()
            if batch:
                await self._apply(batch)
                self.applied_batches += 1
                continue
            self._wake.clear()
            timeout = self.next_deadline(time.monotonic())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except asyncio.TimeoutError:
                pass
