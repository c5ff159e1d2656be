"""What the worker's ``/health`` and ``/ready`` pages report, and the heartbeat that shows whether the loop
is blocked.

``/health`` answers as soon as the web server is up, before the worker has any partition. ``/ready`` is
true only once the worker owns inbound partitions, knows each one's end on the broker (a fetch came back)
and is caught up: at most ``COHORTPLAN_READY_MAX_LAG`` (100) of their messages are not applied yet. A
worker that owns no inbound partition (more workers than partitions) is never ready: it applies nothing.
"""
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
                 scheduler: ReplanScheduler, watch: LoopWatch, ready_max_lag: int = 100) -> None:
        self.worker_id, self.is_leader, self.ready_max_lag = worker_id, is_leader, ready_max_lag
        self.service, self.intake, self.scheduler, self.watch = service, intake, scheduler, watch
        self.inbound: Any = None  # the aiokafka consumer (streams.consumer), when it reads the inbound topics

    def report(self) -> dict[str, Any]:
        stats, merger, debouncer = self.service.stats, self.intake.merger, self.scheduler.debouncer
        r = stats.ingest
        return dict(
            ready=self.readiness()["ready"],
            worker_id=self.worker_id, leader=self.is_leader(), replan_partitions=sorted(self.scheduler.owned),
            regions_pending=debouncer.pending, regions_planning=debouncer.running,
            loop=dict(heartbeats=self.watch.beats, max_gap_s=round(self.watch.max_gap, 3)),
            merge=dict(buffered=merger.buffered, partitions=len(merger.partitions), gaps=self.intake.gate.gaps),
            lag=self.intake.gate.lag(merger.partitions),
            consumer=self.consumer(),
            ingest=dict(batches=stats.batches, received=r.received, applied=r.applied, duplicates=r.duplicates,
                        redelivered=r.redelivered, dead_lettered=r.dead_lettered, readmitted=r.readmitted,
                        parked=r.parked, stale=r.stale,
                        retries=stats.retries, isolated=stats.isolated),
            plans=dict(published=stats.plans, scoped=stats.scoped_plans, dropped=stats.plans_dropped,
                       last=stats.last_plan),
            relayed=stats.relayed, uptime_s=round(time.time() - stats.started, 1))

    def consumer(self) -> dict[str, Any]:
        """Which consumer reads the inbound topics, and (aiokafka) its rebalances and re-syncs from the database."""
        inbound = self.inbound
        if inbound is None:
            return dict(kind="faust", held_acks=len(self.intake.acks))
        return dict(kind="aiokafka", group=inbound.settings.inbound_group, generation=inbound.generation,
                    resyncs=inbound.resyncs, dropped_stale=self.intake.dropped_stale, owned=len(inbound.owned),
                    admitting=sum(tp in self.intake.gate for tp in inbound.owned),
                    merging=sum(tp in self.intake.merger.partitions for tp in inbound.owned))

    def readiness(self) -> dict[str, Any]:
        """Ready: inbound partitions owned, each one's broker end known, and at most ``ready_max_lag`` of their
        messages not applied yet."""
        behind, unknown = self.intake.unapplied()
        total = sum(behind.values())
        ready = bool(behind or unknown) and not unknown and total <= self.ready_max_lag
        return dict(ready=ready, inbound_partitions=len(behind) + len(unknown), end_unknown=unknown,
                    not_applied=total, max_lag=self.ready_max_lag)
