"""Fan-out to the configured sinks: one failing sink never stops the others."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

from engine.alerts.sinks.background import BackgroundSink
from engine.alerts.sinks.jsonl import JsonlSink
from engine.alerts.sinks.mail import EmailSink
from engine.alerts.sinks.port import AlertSink, Message
from engine.alerts.sinks.settings import AlertSinkSettings
from engine.alerts.sinks.webhook import WebhookSink

log = logging.getLogger(__name__)


class AlertDispatcher:
    """Fans alert envelopes out to every sink; one failing sink never stops the others."""

    def __init__(self, sinks: Sequence[AlertSink]) -> None:
        self.sinks = tuple(sinks)

    def publish(self, messages: Iterable[Message]) -> None:
        batch = list(messages)
        if not batch:
            return
        for sink in self.sinks:
            try:
                sink.deliver(batch)
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                log.error("alert sink %s raised %s on %d alert(s)", sink.name, type(exc).__name__, len(batch))

    def close(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for sink in self.sinks:
            try:
                sink.close(max(0.0, deadline - time.monotonic()))
            except Exception as exc:  # noqa: BLE001
                log.error("alert sink %s raised %s on close", sink.name, type(exc).__name__)

    def __enter__(self) -> AlertDispatcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def build_sinks(settings: AlertSinkSettings) -> list[AlertSink]:
    """JSONL unless its path is empty; webhook and email only when configured, each behind its own queue."""
    sinks: list[AlertSink] = []
    if settings.jsonl_path is not None:
        sinks.append(JsonlSink(settings.jsonl_path))
    if settings.webhook_url:
        sinks.append(BackgroundSink(WebhookSink.from_settings(settings), settings.queue_size))
    if settings.smtp_host:
        sinks.append(BackgroundSink(EmailSink.from_settings(settings), settings.queue_size))
    return sinks
