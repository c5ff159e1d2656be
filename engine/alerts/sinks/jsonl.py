"""The JSONL sink: every alert appended as one JSON line to a local file, flushed to disk before the
outbox reader moves its cursor (a crash in between writes those lines again: at least once, by event id)."""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from engine.alerts.sinks.port import AlertSink, Message, SinkStats, to_json

log = logging.getLogger(__name__)


class JsonlSink(AlertSink):
    name = "jsonl"

    def __init__(self, path: Path | str, name: str = "jsonl") -> None:
        self.path = Path(path)
        self.name = name  # names the reader's cursor: one per file
        self.stats = SinkStats()
        self._lock = threading.Lock()

    def send(self, messages: list[Message]) -> int:
        if not messages:
            return 0
        text = "".join(to_json(m) + "\n" for m in messages)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
        except OSError as exc:
            log.error("alert log %s not written (%d alerts wait in the outbox): %s", self.path, len(messages),
                      type(exc).__name__)
            return 0
        self.stats.add(delivered=len(messages))
        return len(messages)
