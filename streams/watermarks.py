"""Low-watermark exchange between workers that share the inbound partitions (see :mod:`streams.merge`)."""
from __future__ import annotations

import asyncio
import logging

from streams.merge import EventTimeMerger
from streams.service import EngineService
from streams.settings import StreamSettings

log = logging.getLogger(__name__)


class WatermarkExchange:
    """While other workers own some inbound partitions, exchange low watermarks with them through the
    database, so that partitions are applied in event-time order across workers too."""

    def __init__(self, service: EngineService, merger: EventTimeMerger, settings: StreamSettings) -> None:
        self.service, self.merger, self.settings = service, merger, settings
        self.every = {(topic, p) for topic in settings.inbound_topics for p in range(settings.partitions)}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.watermark_interval_s)
            try:
                await self.exchange()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep going; the last known lows stay in force meanwhile
                log.exception("low-watermark exchange failed")
                await asyncio.sleep(1.0)

    async def exchange(self) -> None:
        mine = self.merger.lows()
        if self.every <= set(mine):  # this worker owns every partition: its own merge orders them all
            if self.merger.foreign:
                self.merger.set_foreign({})
            return
        lows = await self.service.exchange_lows(mine, stale_s=3 * self.settings.session_timeout_s)
        self.merger.set_foreign({tp: low for tp, low in lows.items() if tp in self.every})
