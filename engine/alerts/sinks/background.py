"""A bounded queue and one daemon thread in front of a slow sink, so delivering never holds up processing."""
from __future__ import annotations

import logging
import threading
from collections import deque

from engine.alerts.sinks.port import AlertSink, Message, SinkStats, alert_ref

log = logging.getLogger(__name__)


class BackgroundSink(AlertSink):
    """A bounded queue and one daemon thread in front of ``inner``: ``deliver`` only enqueues.

    When the queue is full the oldest waiting alert is dropped (counted and logged): fresh alerts matter
    more, and every alert is already in the JSONL log.
    """

    def __init__(self, inner: AlertSink, max_queue: int = 1000) -> None:
        self.inner = inner
        self.name = f"background-{inner.name}"
        self.stats = inner.stats if hasattr(inner, "stats") else SinkStats()
        self._max = max_queue
        self._queue: deque[Message] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"alert-{inner.name}", daemon=True)
        self._thread.start()

    def deliver(self, messages: list[Message]) -> None:
        dropped: list[Message] = []
        with self._cond:
            why = "sink closed" if self._closed else "queue full"
            if self._closed:
                dropped = list(messages)
            else:
                for message in messages:
                    if len(self._queue) >= self._max:
                        dropped.append(self._queue.popleft())
                    self._queue.append(message)
                self._cond.notify()
        if dropped:
            self._count_dropped(dropped, why)

    def _count_dropped(self, dropped: list[Message], why: str) -> None:
        self.stats.add(dropped=len(dropped))
        refs = ", ".join(f"{a} ({k})" for a, k in map(alert_ref, dropped[:10]))
        more = f" and {len(dropped) - 10} more" if len(dropped) > 10 else ""
        log.warning("%s: %s, dropped %d alert(s): %s%s", self.name, why, len(dropped), refs, more)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                message = self._queue.popleft()
            try:
                self.inner.deliver([message])
            except Exception as exc:  # noqa: BLE001 - keep the worker alive whatever the sink does
                alert_id, kind = alert_ref(message)
                log.error("%s raised %s for alert_id=%s kind=%s", self.name, type(exc).__name__, alert_id, kind)
                self.stats.add(failed=1)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what can be delivered within ``timeout``; what is left is dropped and counted."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
        if left:
            self._count_dropped(left, "closed before delivery")
        self.inner.close(0)
