"""Outbox readers: the only way alerts leave for the JSONL file, the webhook and email.

Every alert is written to the outbox in the transaction that decided it. Each sink has its own reader
with its own committed cursor (``cursor:<sink>`` in the state table, the last outbox id it is done with):

1. read the cursor and the next rows on the alerts topic above it (a short transaction that also takes
   the reader's named lock, so two processes on one PostgreSQL database never feed the same sink at once);
2. hand them to the sink, which says how many it is done with (:meth:`AlertSink.send`);
3. commit the cursor past those.

A crash between 2 and 3 offers the same rows again: delivery is at least once, and every message carries
its event id (the webhook's ``Idempotency-Key``, the email's ``Message-ID``, the JSONL line's
``event_id``) so the receiver keeps one. A receiver that is down stops its reader at the first undelivered
row; the others go on. Outbox ids grow in commit order because every writer takes the write lock first
(:meth:`UnitOfWork.lock_writes`).

A new reader starts at the beginning of the outbox: a webhook configured later receives the alerts
already decided (its receiver deduplicates on the event id).
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine import state_keys as keys
from engine.alerts.sinks.jsonl import JsonlSink
from engine.alerts.sinks.mail import EmailSink
from engine.alerts.sinks.port import AlertSink
from engine.alerts.sinks.settings import AlertSinkSettings
from engine.alerts.sinks.webhook import WebhookSink
from engine.events.registry import topic_of
from engine.ports import UnitOfWork

log = logging.getLogger(__name__)

ALERTS_TOPIC = topic_of("alert.raised")


@dataclass
class Drained:
    """One reader's round: rows handed over and done with, and whether it stopped on an unreachable sink."""

    delivered: int = 0
    waiting: bool = False


class OutboxReader:
    """Feeds one sink from the outbox through that sink's committed cursor."""

    def __init__(self, sink: AlertSink, uow: Callable[[], UnitOfWork], batch: int = 50,
                 topics: Sequence[str] = (ALERTS_TOPIC,)) -> None:
        self.sink, self.uow, self.batch, self.topics = sink, uow, batch, tuple(topics)
        self.key = keys.OUTBOX_CURSOR.key(sink.name)

    def cursor(self) -> int:
        with self.uow() as uow:
            return int(uow.get_state(self.key) or 0)

    def round(self) -> Drained:
        """Offer the next batch once; ``delivered == 0`` and not waiting means caught up (or another process
        holds this sink's reader lock)."""
        with self.uow() as guard:  # held for the round: the lock lasts as long as its transaction
            if not guard.try_lock(f"outbox-reader:{self.sink.name}"):
                return Drained()
            cursor = int(guard.get_state(self.key) or 0)
            rows = guard.outbox_after(cursor, self.topics, self.batch)
            if not rows:
                return Drained()
            done = self.sink.send([json.loads(row["message"]) for row in rows])
            if done:
                with self.uow() as uow:
                    uow.set_state(self.key, str(rows[done - 1]["id"]))
                    uow.commit()
            return Drained(done, done < len(rows))

    def drain(self, stop: threading.Event | None = None) -> Drained:
        """Rounds until caught up, the sink is unreachable, or ``stop`` is set."""
        total = Drained()
        while not (stop and stop.is_set()):
            step = self.round()
            total.delivered += step.delivered
            if step.waiting or not step.delivered:
                total.waiting = step.waiting
                break
        return total


class OutboxReaders:
    """The configured sinks' readers: drained together, one unreachable sink never holding up another."""

    def __init__(self, readers: Sequence[OutboxReader], interval_s: float = 1.0) -> None:
        self.readers = tuple(readers)
        self.interval_s = interval_s
        self._stop = threading.Event()

    @classmethod
    def configured(cls, settings: AlertSinkSettings, uow: Callable[[], UnitOfWork]) -> OutboxReaders:
        return cls([OutboxReader(sink, uow, settings.reader_batch) for sink in build_sinks(settings)],
                   settings.reader_interval_s)

    def drain(self) -> dict[str, Drained]:
        out = {}
        for reader in self.readers:
            try:
                out[reader.sink.name] = reader.drain(self._stop)
            except Exception:  # noqa: BLE001 - a reader that failed keeps its cursor; the others go on
                log.exception("outbox reader for %s failed; its rows stay for the next round", reader.sink.name)
                out[reader.sink.name] = Drained(waiting=True)
        return out

    def follow(self) -> None:
        """Drain, then look again every ``interval_s`` until :meth:`close` (a thread or a process's loop)."""
        while not self._stop.is_set():
            self.drain()
            self._stop.wait(self.interval_s)

    def close(self, timeout: float = 5.0) -> None:
        """Stop following and cut short any backoff; what is undelivered stays in the outbox."""
        self._stop.set()
        for reader in self.readers:
            try:
                reader.sink.close(timeout)
            except Exception as exc:  # noqa: BLE001
                log.error("alert sink %s raised %s on close", reader.sink.name, type(exc).__name__)

    def __enter__(self) -> OutboxReaders:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def build_sinks(settings: AlertSinkSettings) -> list[AlertSink]:
    """JSONL unless its path is empty; webhook and email only when configured."""
    sinks: list[AlertSink] = []
    if settings.jsonl_path is not None:
        sinks.append(JsonlSink(settings.jsonl_path))
    if settings.webhook_url:
        sinks.append(WebhookSink.from_settings(settings))
    if settings.smtp_host:
        sinks.append(EmailSink.from_settings(settings))
    return sinks
