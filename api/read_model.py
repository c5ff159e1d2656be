"""The API's read model: answers computed once per state of the engine, then only paged for each caller.

The waiting list and the alert list of a region are the same for every caller until the state changes: computing
them (hundreds of rows read, deadlines and latest starts worked out, models built) cost most of a request. So each
is kept here, per API process, under the **state version** it was computed at —
:meth:`engine.persistence.queries.Queries.state_version`, marks that move with every write of the engine (the event
clock and consumer offsets, each region's dirty generation, plan version, planning date and alert sweep, the highest
outbox, status-history and alert-action ids, the dead letters and parked events), read in one statement at the start
of every request. A request whose version differs from the one an answer was computed at computes it again (one
thread per answer and version; the others wait for it), so no answer older than the state the request saw is ever
served.

What is kept is the same for everyone: the whole ordered list, before paging, before the caller's filters and
before limited access. Each request filters and pages it, redacts what its caller may not see (the rules are read
for every request, never kept here) and writes its own audit row.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

V = TypeVar("V")
Version = tuple[tuple[str, str], ...]

MAX_ANSWERS = 4096  # answers kept per process (lists per region, status and date; referrals); the least recent go


class ReadModel:
    """Answers by key, each valid for the state version it was computed at (thread-safe)."""

    def __init__(self, max_answers: int = MAX_ANSWERS) -> None:
        self.max_answers = max_answers
        self._answers: OrderedDict[Hashable, tuple[Version, Any]] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self.computed = 0  # how many answers were computed (tests and the bench read it)

    def get(self, version: Version, key: Hashable, compute: Callable[[], V]) -> V:
        """The answer for ``key`` at ``version``: kept, or computed now by ``compute`` (which must read the state
        after ``version`` was read, so it is at least as new)."""
        found = self._kept(version, key)
        if found is not None:
            return found[0]
        with self._guard:
            lock = self._building.setdefault(key, threading.Lock())
        with lock:  # one computation per key at a time: the others wait and take its answer
            found = self._kept(version, key)
            if found is not None:
                return found[0]
            value = compute()
            with self._guard:
                self.computed += 1
                self._answers[key] = (version, value)
                self._answers.move_to_end(key)
                while len(self._answers) > self.max_answers:
                    old, _ = self._answers.popitem(last=False)
                    self._building.pop(old, None)
            return value

    def _kept(self, version: Version, key: Hashable) -> tuple[Any] | None:
        with self._guard:
            entry = self._answers.get(key)
            if entry is None or entry[0] != version:
                return None
            self._answers.move_to_end(key)
            return (entry[1],)

    def clear(self) -> None:
        with self._guard:
            self._answers.clear()
