"""Retrying delivery for network sinks: capped exponential backoff with jitter, one alert at a time.

A refusal for good (HTTP 4xx, a bad URL) is logged with the alert id and kind (never the reason or other
payload text), counted as failed, and passed over. A receiver still unreachable after the last attempt
stops the batch there: the outbox reader keeps its cursor and offers the alert again on its next round, so
nothing is lost while the receiver is down. Nothing is raised into the caller.
"""
from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_when_event_set,
    wait_exponential,
    wait_random_exponential,
)

from engine.alerts.sinks.port import AlertSink, Message, SinkStats, alert_ref
from engine.alerts.sinks.settings import AlertSinkSettings

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A failed attempt; ``str`` is safe to log (status code or exception class, no payload text)."""


class TransientDeliveryError(DeliveryError):
    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_s: float = 0.5
    max_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: AlertSinkSettings) -> RetryPolicy:
        return cls(settings.retry_attempts, settings.backoff_initial_s, settings.backoff_max_s)

    def wait(self, state: RetryCallState) -> float:
        """Equal jitter: half the exponential step fixed, half random; a server's Retry-After wins, capped."""
        half = wait_exponential(multiplier=self.initial_s / 2, max=self.max_s / 2)
        jitter = wait_random_exponential(multiplier=self.initial_s / 2, max=self.max_s / 2)
        backoff = half(state) + jitter(state)
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        return min(max(backoff, hinted or 0.0), self.max_s)


class RetryingSink(AlertSink):
    """Delivers one alert at a time with retries; ``close`` cuts short any backoff in progress."""

    def __init__(self, retry: RetryPolicy) -> None:
        self.retry = retry
        self.stats = SinkStats()
        self._stopping = threading.Event()

    @abstractmethod
    def _attempt(self, message: Message) -> None:
        """Send once; raise TransientDeliveryError to retry, DeliveryError to give up."""

    def send(self, messages: list[Message]) -> int:
        for done, message in enumerate(messages):
            if not self._deliver_one(message):
                return done
        return len(messages)

    def _deliver_one(self, message: Message) -> bool:
        """False only when the receiver is unreachable for now (the message must be offered again)."""
        retrying = Retrying(stop=stop_after_attempt(self.retry.attempts) | stop_when_event_set(self._stopping),
                            wait=self.retry.wait, retry=retry_if_exception_type(TransientDeliveryError),
                            sleep=self._stopping.wait, before_sleep=lambda _: self.stats.add(retries=1),
                            reraise=True)
        try:
            retrying(self._attempt, message)
        except Exception as exc:  # noqa: BLE001 - a sink never raises into the caller
            return self._failed(message, exc)
        self.stats.add(delivered=1)
        return True

    def _failed(self, message: Message, exc: Exception) -> bool:
        if isinstance(exc, TransientDeliveryError) or self._stopping.is_set():  # closing: not the alert's fault
            alert_id, kind = alert_ref(message)
            log.warning("%s unreachable: alert_id=%s kind=%s stays in the outbox for the next round (%s)",
                        self.name, alert_id, kind, exc)
            return False
        detail = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
        alert_id, kind = alert_ref(message)
        log.error("%s alert refused for good: alert_id=%s kind=%s (%s)", self.name, alert_id, kind, detail)
        self.stats.add(failed=1)
        return True

    def close(self, timeout: float = 5.0) -> None:
        self._stopping.set()
