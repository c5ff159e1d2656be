"""The outbox's readers in the worker: the relay sends every outbound message to its outbound topic, marking
rows sent once the broker acknowledged them; :class:`AlertDelivery` feeds the webhook and email sinks, each
through its own cursor (:mod:`engine.alerts.sinks.readers`)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from streams.service import EngineService
from streams.settings import StreamSettings

log = logging.getLogger(__name__)


class OutboxRelay:
    """Drains the outbox continuously (sleeping only when it is empty, or after a failure), each row sent
    with its message id and event type as headers and marked sent once the broker acknowledged it."""

    def __init__(self, service: EngineService, producer: Callable[[], Any], settings: StreamSettings) -> None:
        self.service, self.producer, self.settings = service, producer, settings

    async def run(self) -> None:
        while True:
            try:
                if await self.service.relay(self.send) >= self.settings.relay_batch:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - unsent rows stay unsent and go on the next round
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)
            await asyncio.sleep(self.settings.relay_interval_s)

    async def send(self, rows: list[dict]) -> None:
        producer, futures = self.producer(), []
        for row in rows:
            futures.append(await producer.send(
                self.settings.outbound_topic(row["topic"]), row["key"].encode(), row["message"].encode(),
                None, None, [("message_id", row["message_id"].encode()), ("event_type", row["event_type"].encode())]))
        await asyncio.gather(*futures)


class AlertDelivery:
    """Runs the alert sinks' outbox readers every ``interval_s`` (nothing to do when no sink is configured)."""

    def __init__(self, service: EngineService, interval_s: float) -> None:
        self.service, self.interval_s = service, interval_s

    async def run(self) -> None:
        if not self.service.readers.readers:
            return
        while True:
            try:
                if await self.service.deliver_alerts():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - undelivered rows stay behind the readers' cursors
                log.exception("alert delivery failed; retrying")
            await asyncio.sleep(self.interval_s)
