"""Re-planning, owned through the partitions of the replan topic and debounced.

A region's re-plans belong to the worker that owns the region's partition of ``programmes.replan.v1``
(:func:`region_partition`). A worker whose batch changed a region it owns notes the region in its own
debouncer; a region owned elsewhere gets a request on the topic, which its owner's replan agent notes.
The owner plans a region after a debounce (quiet period, maximum delay), never twice at once. A
rebalance hands regions over; the new owner finds regions still dirty in the database and plans them.
A publish whose basis moved is dropped, so even a stale owner during a rebalance cannot publish a
conflicting plan.

Ownership is fenced in the database (:class:`engine.services.fencing.Fence`): taking a replan partition
takes its fence (``replan:<partition>``, a generation that grows with each new holder), the worker plans a
region only under the fence it holds, and a publish under a fence that moved on is refused. A worker paused
through a rebalance (or cut off from the broker while its plan runs) wakes up as a stale owner whose plan
the database refuses, so no region is ever planned by two workers at once.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiokafka.partitioner import murmur2

from engine.services.fencing import Fence
from streams.debounce import Debouncer
from streams.service import EngineService

log = logging.getLogger(__name__)
REQUEST_EVERY_S = 0.5  # at most one request message per region this often


def region_partition(region: str, partitions: int) -> int:
    """The re-plan partition of a region (Kafka's default key partitioner, fixed here explicitly)."""
    return (murmur2(region.encode()) & 0x7FFFFFFF) % partitions


class ReplanScheduler:
    """The re-plans of the regions this worker owns: noted, debounced, then planned on their own tasks."""

    def __init__(self, service: EngineService, partitions: int, quiet_s: float, max_delay_s: float,
                 holder: str) -> None:
        self.service, self.partitions = service, partitions
        self.debouncer = Debouncer(quiet_s, max_delay_s)
        self.owned: set[int] = set()  # partitions of the replan topic assigned to this worker
        self.fences: dict[int, Fence] = {}  # of the owned partitions, the fences taken (plans run only under one)
        self._released: dict[int, Fence] = {}  # fences of partitions revoked: kept on re-taking if nobody took them
        self.holder = holder  # this worker's id: who holds the fences it takes
        self._tasks: set[asyncio.Task] = set()
        service.planner.fence_of = self.fence_of  # every plan this worker publishes is fenced

    def owns(self, region: str) -> bool:
        return region_partition(region, self.partitions) in self.owned

    def fence_of(self, region: str) -> Fence | None:
        """The fence this worker holds for the region (None: not its region, or the fence not taken yet)."""
        partition = region_partition(region, self.partitions)
        return self.fences.get(partition) if partition in self.owned else None

    async def take(self, partitions: set[int]) -> None:
        """Take the fences of newly owned replan partitions (kept when this worker held them all along). One
        that cannot be taken now (the database is down) is taken before the partition's first plan."""
        for partition in sorted(partitions):
            try:
                await self._take(partition)
            except Exception as exc:  # noqa: BLE001 - retried before the partition's next plan
                log.warning("could not take the fence of re-plan partition %d yet: %r", partition, exc)

    async def _take(self, partition: int) -> Fence:
        held = self.fences.get(partition) or self._released.get(partition)
        fence = await self.service.take_fence(f"replan:{partition}", self.holder, held.generation if held else None)
        if fence != held:
            log.info("worker %s took re-plan partition %d at fence generation %d", self.holder, partition,
                     fence.generation)
        if partition not in self.owned:  # revoked while the database answered: the next owner takes it again
            raise RuntimeError(f"re-plan partition {partition} was revoked while its fence was taken")
        self.fences[partition] = fence
        return fence

    def note(self, region: str, at: float | None = None) -> None:
        """A change to the region (or a request for it), at ``at`` on the monotonic clock (default now)."""
        self.debouncer.note(region, time.monotonic() if at is None else at)

    async def tick(self) -> None:
        """The schedule timer: start a plan for every owned region whose debounce ran out."""
        for region in self.debouncer.due(time.monotonic()):
            if not self.owns(region):
                self.debouncer.done(region)
                continue
            task = asyncio.create_task(self._plan(region), name=f"plan:{region}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _plan(self, region: str) -> None:
        try:
            if self.fence_of(region) is None:
                await self._take(region_partition(region, self.partitions))
            await self.service.replan(region)
        except Exception:  # noqa: BLE001 - a failed plan is retried after the quiet period
            log.exception("re-plan of %s failed; it stays dirty and is planned again", region)
        finally:
            self.debouncer.done(region)
        try:
            still_dirty = self.owns(region) and region in await self.service.dirty_regions()
        except Exception as exc:  # noqa: BLE001 - the database is down: assume the plan is still owed
            log.warning("could not read whether %s is still dirty (%r); planning it again", region, exc)
            still_dirty = self.owns(region)
        if still_dirty:
            self.note(region)

    def own(self, partitions: set[int]) -> None:
        """The replan partitions a rebalance assigned to this worker (their fences are taken by :meth:`take`)."""
        self.owned = set(partitions)
        self._release(set(self.fences) - self.owned)

    def _release(self, partitions: set[int]) -> None:
        for partition in partitions & set(self.fences):
            self._released[partition] = self.fences.pop(partition)

    async def resume(self) -> None:
        """After a rebalance: plan the owned regions the database still has dirty."""
        for region in await self.service.dirty_regions():
            if self.owns(region):
                self.note(region)

    def revoke(self, partitions: set[int]) -> None:
        """Partitions taken away: what was pending for their regions is the new owner's now."""
        self.owned -= partitions
        self._release(partitions)
        for region in self.debouncer.pending:
            if not self.owns(region):
                self.debouncer.forget(region)


class ReplanRequests:
    """Where a changed region's re-plan request goes: this worker's scheduler when it owns the region,
    else the replan topic, to the owner's partition (a steady stream would send one message per
    transaction; the debounce needs only the rhythm, so at most one every REQUEST_EVERY_S)."""

    def __init__(self, scheduler: ReplanScheduler, topic: Any) -> None:
        self.scheduler, self.topic = scheduler, topic
        self._sent: dict[str, float] = {}  # region → when a request message was last sent

    async def request(self, region: str) -> None:
        if self.scheduler.owns(region):
            self.scheduler.note(region)
            return
        now = time.monotonic()
        if now - self._sent.get(region, -REQUEST_EVERY_S) < REQUEST_EVERY_S:
            return
        self._sent[region] = now
        await self.topic.send(key=region.encode(), value=json.dumps({"region": region}).encode(),
                              partition=region_partition(region, self.scheduler.partitions))

    def received(self, region: str) -> None:
        """A request read from the replan topic (by the owner of its partition)."""
        self.scheduler.note(region)
