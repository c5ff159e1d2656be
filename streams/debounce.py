"""Debounced re-plan scheduling: plan a region after a quiet period, or at most a maximum delay
after its first unplanned change, and never twice at once. Pure: times are passed in."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Pending:
    first: float
    last: float


class Debouncer:
    def __init__(self, quiet_s: float, max_delay_s: float) -> None:
        self.quiet_s, self.max_delay_s = quiet_s, max_delay_s
        self._pending: dict[str, _Pending] = {}
        self._running: set[str] = set()

    def note(self, region: str, now: float) -> None:
        """A change (or a request) for the region at ``now``."""
        pending = self._pending.get(region)
        if pending is None:
            self._pending[region] = _Pending(now, now)
        else:
            pending.last = max(pending.last, now)

    def due(self, now: float) -> list[str]:
        """Regions to plan now; each is marked running until :meth:`done`."""
        ready = [region for region, p in self._pending.items() if region not in self._running
                 and (now - p.last >= self.quiet_s or now - p.first >= self.max_delay_s)]
        for region in ready:
            del self._pending[region]
            self._running.add(region)
        return sorted(ready)

    def done(self, region: str) -> None:
        self._running.discard(region)

    def forget(self, region: str) -> None:
        """The region is no longer ours (a rebalance moved it): drop what was pending."""
        self._pending.pop(region, None)

    @property
    def pending(self) -> list[str]:
        return sorted(self._pending)

    @property
    def running(self) -> list[str]:
        return sorted(self._running)
