"""What the worker's ``/health`` page reports, and the heartbeat that shows whether the loop is blocked."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from streams.intake import Intake
from streams.replan import ReplanScheduler
from streams.service import EngineService


class LoopWatch:
    """Heartbeats on the event loop: the longest gap shows whether anything blocked it."""

    def __init__(self) -> None:
        self.beats, self.last, self.max_gap = 0, time.monotonic(), 0.0

    async def beat(self) -> None:
        now = time.monotonic()
        if self.beats:
            self.max_gap = max(self.max_gap, now - self.last)
        self.beats, self.last = self.beats + 1, now


class Health:
    """The worker's state as plain data: ownership, debounce, loop, merge, lag, ingest, plans, relay."""

    def __init__(self, worker_id: str, is_leader: Callable[[], bool], service: EngineService, intake: Intake,
                 scheduler: ReplanScheduler, watch: LoopWatch) -> None:
        self.worker_id, self.is_leader = worker_id, is_leader
        self.service, self.intake, self.scheduler, self.watch = service, intake, scheduler, watch

    def report(self) -> dict[str, Any]:
        stats, merger, debouncer = self.service.stats, self.intake.merger, self.scheduler.debouncer
        r = stats.ingest
        return dict(
            worker_id=self.worker_id, leader=self.is_leader(), replan_partitions=sorted(self.scheduler.owned),
            regions_pending=debouncer.pending, regions_planning=debouncer.running,
            loop=dict(heartbeats=self.watch.beats, max_gap_s=round(self.watch.max_gap, 3)),
            merge=dict(buffered=merger.buffered, partitions=len(merger.partitions), gaps=self.intake.gate.gaps),
            lag=self.intake.gate.lag(merger.partitions),
            ingest=dict(batches=stats.batches, received=r.received, applied=r.applied, duplicates=r.duplicates,
                        redelivered=r.redelivered, dead_lettered=r.dead_lettered, parked=r.parked, stale=r.stale,
                        retries=stats.retries, isolated=stats.isolated),
            plans=dict(published=stats.plans, dropped=stats.plans_dropped, last=stats.last_plan),
            relayed=stats.relayed, uptime_s=round(time.time() - stats.started, 1))
