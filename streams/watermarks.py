"""Low-watermark exchange between workers that share the inbound partitions (see :mod:`streams.merge`)."""
from __future__ import annotations

import asyncio
import logging
import time

from streams.merge import EventTimeMerger
from streams.service import EngineService
from streams.settings import StreamSettings

log = logging.getLogger(__name__)

# A worker that owns every inbound partition publishes its lows only this often: nobody reads them until a worker
# joins, and the rebalance that lets one in takes partitions from this one, which then exchanges every tick again
# at once. At 50 exchanges a second a lone worker spent 7% of a core (and the GIL) on lows nobody read.
LONE_EVERY_S = 1.0


class WatermarkExchange:
    """Exchange low watermarks with the other workers through the database, so that partitions are applied
    in event-time order across workers too (a lone worker's own merge orders them all; it publishes anyway,
    for whoever joins, once a ``LONE_EVERY_S``)."""

    def __init__(self, service: EngineService, merger: EventTimeMerger, settings: StreamSettings) -> None:
        self.service, self.merger, self.settings = service, merger, settings
        self.every = {(topic, p) for topic in settings.inbound_topics for p in range(settings.partitions)}
        self._last: float | None = None  # when this worker last exchanged

    def due(self, now: float) -> bool:
        """Every tick while others own some partitions (or this worker owns none yet); once a ``LONE_EVERY_S``
        while it owns them all."""
        alone = bool(self.every) and self.every <= set(self.merger.partitions)
        return not alone or self._last is None or now - self._last >= LONE_EVERY_S

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.watermark_interval_s)
            now = time.monotonic()
            if not self.due(now):
                continue
            self._last = now
            try:
                await self.exchange()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep going; the last known lows stay in force meanwhile
                log.exception("low-watermark exchange failed")
                await asyncio.sleep(1.0)

    async def exchange(self) -> None:
        """Publish this worker's lows (always: a partition it gives up keeps its last low until the new owner
        publishes) and take the others': fresh ones as they are; none at all yet → hold everything (its
        owner is starting); stale → no limit (its worker is gone and nobody took the partition over)."""
        mine = self.merger.lows()
        fresh, stale = await self.service.exchange_lows(mine, stale_s=3 * self.settings.session_timeout_s)
        mine = set(self.merger.partitions)  # the assignment may have changed meanwhile
        foreign = {tp: fresh[tp] if tp in fresh else () for tp in self.every - mine if tp not in stale}
        self.merger.set_foreign(foreign)
