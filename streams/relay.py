"""The outbox's readers in the worker: the relay sends every outbound message to its outbound topic, marking
rows sent once the broker acknowledged them; :class:`AlertDelivery` feeds the webhook and email sinks, each
through its own cursor (:mod:`engine.alerts.sinks.readers`)."""
from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.kafka_io import idempotent_producer
from streams.service import EngineService
from streams.settings import StreamSettings

log = logging.getLogger(__name__)
PRODUCER_TIMEOUT_MS = 60_000  # a batch the broker has not acknowledged by then fails, and is sent again next round


class OutboxRelay:
    """Drains the outbox continuously (sleeping only when it is empty, or after a failure), each row sent
    with its message id and event type as headers and marked sent once the broker acknowledged it.

    It sends through an idempotent producer of its own (:func:`streams.kafka_io.idempotent_producer`), not faust's,
    which is idempotent only in a transaction: when a broker goes away with a batch written but its acknowledgement
    lost, the producer's retry of that batch is recognised by the broker and not written twice. A row the producer
    gave up on is sent again on the next round, as a new message with the same message id
    (:meth:`EngineService.relay`)."""

    def __init__(self, service: EngineService, settings: StreamSettings) -> None:
        self.service, self.settings = service, settings
        self.producer: AIOKafkaProducer | None = None

    async def run(self) -> None:
        try:
            while True:
                try:
                    if self.producer is None:
                        await self.start()
                    if await self.service.relay(self.send) >= self.settings.relay_batch:
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - unsent rows stay unsent and go on the next round
                    log.exception("outbox relay failed; retrying")
                    await asyncio.sleep(1.0)
                await asyncio.sleep(self.settings.relay_interval_s)
        finally:
            await self.stop()

    async def start(self) -> None:
        """Start the relay's producer (a broker that cannot be reached raises; :meth:`run` tries again)."""
        producer = idempotent_producer(self.settings.bootstrap_servers, client_id=f"{self.settings.app_id}-relay",
                                       request_timeout_ms=PRODUCER_TIMEOUT_MS)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self.producer = producer

    async def stop(self) -> None:
        if self.producer is not None:
            producer, self.producer = self.producer, None
            await producer.stop()

    async def send(self, rows: list[dict]) -> list[int]:
        """Send ``rows``; the ids of those the broker acknowledged (the others failed, or were never handed to the
        producer because an earlier one could not be)."""
        assert self.producer is not None
        futures = []
        for row in rows:
            try:
                futures.append(await self.producer.send(
                    self.settings.outbound_topic(row["topic"]), row["message"].encode(), key=row["key"].encode(),
                    headers=[("message_id", row["message_id"].encode()), ("event_type", row["event_type"].encode())]))
            except KafkaError as exc:  # the producer's buffer is full or it is closing: wait for what it has
                log.warning("outbox relay: row %s not handed to the producer (%s)", row["id"], exc)
                break
        answers = await asyncio.gather(*futures, return_exceptions=True)
        failed = [a for a in answers if isinstance(a, BaseException)]
        if failed:  # those rows, and their keys' later rows (EngineService.relay), go again next round
            log.warning("outbox relay: %d of %d sends failed (%s); sent again next round", len(failed), len(futures),
                        failed[0])
        return [row["id"] for row, answer in zip(rows, answers) if not isinstance(answer, BaseException)]


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
