"""A database that is down for a while, as the stream service sees it: its ingest and its clock probe fail."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def database_down(monkeypatch: Any, service: Any, probes: int, on_failure: Callable[[], None] | None = None) -> None:
    """Until ``probes`` clock probes have failed, applying a batch raises ``ConnectionError`` (after calling
    ``on_failure``, e.g. to set the database back as a crash would) and so does each probe."""
    left = [probes]
    process, clock = service.ingestor.process, service.planner.clock

    def down_process(batch):
        if left[0] > 0:
            if on_failure is not None:
                on_failure()
            raise ConnectionError("database down")
        return process(batch)

    def down_clock():
        if left[0] > 0:
            left[0] -= 1
            raise ConnectionError("database down")
        return clock()

    monkeypatch.setattr(service.ingestor, "process", down_process)
    monkeypatch.setattr(service.planner, "clock", down_clock)
