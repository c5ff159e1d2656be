"""The worker's timed jobs besides planning: alert sweeps between plans, and the weekly reports."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from streams.replan import ReplanScheduler
from streams.service import EngineService

log = logging.getLogger(__name__)


class AlertSweep:
    """Alerts between plans: each owned region's sweep (dates move on; events get rejected). On the wall
    clock, a region also gets a plan once the day changed."""

    def __init__(self, service: EngineService, scheduler: ReplanScheduler, wall_clock: bool, quiet_s: float) -> None:
        self.service, self.scheduler, self.wall_clock, self.quiet_s = service, scheduler, wall_clock, quiet_s

    async def run(self) -> None:
        try:
            regions = [r for r in await self.service.known_regions() if self.scheduler.owns(r)]
            for region in regions:
                await self.service.sweep_alerts(region)
            today = await self.service.as_of()
            for region in regions if self.wall_clock else ():
                last = await self.service.last_planned(region)
                if last is None or last < today:  # due now: as if it had been quiet for the whole period
                    self.scheduler.note(region, time.monotonic() - self.quiet_s)
        except Exception:  # noqa: BLE001 - a failed sweep is retried on the next tick
            log.exception("alert sweep failed")


class WeeklyReports:
    """Every known region's weekly planner report: HTML with charts, CSVs and headline numbers (the leader
    runs this on the report crontab; each region and date is published once)."""

    def __init__(self, service: EngineService, out_dir: Path) -> None:
        self.service, self.out_dir = service, out_dir

    async def write(self) -> list[Path]:
        paths = [await self.service.weekly_report(region, self.out_dir) for region in await self.service.known_regions()]
        return [p for p in paths if p]

    async def run(self) -> None:
        try:
            for path in await self.write():
                log.info("weekly report written to %s", path)
        except Exception:  # noqa: BLE001 - the next tick tries again; nothing else depends on it
            log.exception("weekly report failed")
