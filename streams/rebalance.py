"""Partition assignment: a rebalance tells the intake which inbound partitions it owns and the re-plan
scheduler which regions, whose fences it takes in the database before it plans them."""
from __future__ import annotations

import logging
from typing import Any

from streams.intake import Intake
from streams.replan import ReplanScheduler
from streams.service import EngineService
from streams.settings import StreamSettings

log = logging.getLogger(__name__)


class PartitionAssignment:
    """Splits each assignment into inbound partitions (the intake's) and replan partitions (the scheduler's)."""

    def __init__(self, settings: StreamSettings, service: EngineService, intake: Intake,
                 scheduler: ReplanScheduler) -> None:
        self.settings, self.service, self.intake, self.scheduler = settings, service, intake, scheduler

    async def on_assigned(self, app: Any, assigned: Any, **_: Any) -> None:
        assignment = app.consumer.assignment()
        self.scheduler.own(self._replan(assignment))
        inbound = self._inbound(assignment)
        self.intake.assign(inbound, await self.service.offsets())
        if inbound:
            await self.intake.seek_to_applied(inbound)
        log.info("worker %s owns re-plan partitions %s", self.settings.worker_id, sorted(self.scheduler.owned))
        await self.scheduler.take(self.scheduler.owned)
        await self.scheduler.resume()

    async def on_revoked(self, app: Any, revoked: Any, **_: Any) -> None:
        self.scheduler.revoke(self._replan(revoked))
        inbound = self._inbound(revoked)
        if inbound:  # none on the aiokafka path, whose consumer settles its own
            await self.intake.settle_before_giving_up(inbound, self.settings.worker_id)
        self.intake.revoke(inbound)

    def _replan(self, tps: Any) -> set[int]:
        return {tp.partition for tp in tps if tp.topic == self.settings.topic_replan}

    def _inbound(self, tps: Any) -> list[tuple[str, int]]:
        return [(tp.topic, tp.partition) for tp in tps if tp.topic in self.settings.inbound_topics]
