"""The alert sink port: what every sink takes, the counters it keeps, and what its logs may say.

Sinks are fed only by outbox readers (:mod:`engine.alerts.sinks.readers`): a sink says how many of the
messages it was given are done with, and the reader moves its committed cursor past those only.
"""
from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]


@dataclass
class SinkStats:
    """Counters a sink shares with its ``BackgroundSink``; safe to update from several threads."""

    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    retries: int = 0
    skipped: int = 0  # filtered out on purpose (e.g. below the email severity)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"delivered": self.delivered, "failed": self.failed, "dropped": self.dropped,
                    "retries": self.retries, "skipped": self.skipped}


class AlertSink(ABC):
    """Port: takes alert envelopes (dicts, oldest first) and never raises for a delivery problem."""

    name = "sink"
    stats: SinkStats

    @abstractmethod
    def send(self, messages: list[Message]) -> int:
        """Deliver in order; returns how many leading messages are done with: delivered, skipped on purpose,
        or refused for good (logged and counted as failed). Fewer than ``len(messages)`` means the next one
        could not be delivered for now (the receiver is down): the reader offers it again later."""

    def close(self, timeout: float = 5.0) -> None:
        """Release resources; a sink that holds nothing has nothing to do."""


def alert_ref(message: Message) -> tuple[str, str]:
    """What logs may say about an alert: its id and kind, nothing from the reason or numbers."""
    payload = message.get("payload") or {}
    return str(payload.get("alert_id", "?")), str(payload.get("kind", "?"))


def to_json(message: Message) -> str:
    return json.dumps(message, ensure_ascii=False, default=str)
