"""The JSONL sink: every alert appended as one JSON line to a local file."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from engine.alerts.sinks.port import AlertSink, Message, SinkStats, to_json

log = logging.getLogger(__name__)


class JsonlSink(AlertSink):
    name = "jsonl"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.stats = SinkStats()
        self._lock = threading.Lock()

    def deliver(self, messages: list[Message]) -> None:
        if not messages:
            return
        text = "".join(to_json(m) + "\n" for m in messages)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
        except OSError as exc:
            log.error("alert log %s not written (%d alerts): %s", self.path, len(messages), type(exc).__name__)
            self.stats.add(failed=len(messages))
        else:
            self.stats.add(delivered=len(messages))
