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

**Per region.** An answer about one region (its waiting list, its alert list, one of its referrals) is kept while
that region's own marks are unchanged, whatever other regions write (:func:`region_stamp`): the region's dirty
generation (bumped in the transaction of every ingest batch, safety removal and override that changes the region —
the re-planner relies on it), its plan version and planning date (moved by every plan, published or refused), its
alert sweep sequence (bumped by every sweep that changes one of its alerts) and the highest alert-action id (an ops
action on any alert; few). Two guards for what those marks could miss:

- *a mark that comes back*: a refused plan resets the dirty generation to 0 and stores a plan version no plan row
  holds, so two refused plans of the same date around an event can leave the region's marks as they were. The
  process numbers every change of a region's marks it sees (an epoch in the stamp), so a return to earlier marks is a
  new stamp when any request of the process saw the marks in between;
- *anything else*: an answer is served under a version other than its own for at most :data:`MAX_AGE_S` seconds
  after it was computed (each answer a time drawn between half of it and all of it, so that answers computed
  together are not all computed again together). That is the documented bound on staleness for a change that moves none of the region's
  marks (none is known); a change that moves them is seen by the next request that reads the new version.

An answer about no one region (the known regions, the pseudo-region ``*``, a referral id that does not exist) is kept
only under the exact version it was computed at.

What is kept is the same for everyone: the whole ordered list, before paging, before the caller's filters and
before limited access. Each request filters and pages it, redacts what its caller may not see (the rules are read
for every request, never kept here) and writes its own audit row.
"""
from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

V = TypeVar("V")
Version = tuple[tuple[str, str], ...]
Stamp = Hashable

MAX_ANSWERS = 4096  # answers kept per process (lists per region, status and date; referrals); the least recent go
MAX_AGE_S = 60.0  # longest an answer is served under a version other than the one it was computed at
REGION_MARKS = ("dirty:", "plan_version:", "last_planned:", "alert_sweeps:")  # a region's own marks (prefix + region)
SHARED_MARKS = ("max:alert_actions",)  # marks of every region's answers (alert actions: rows of no region's marks)
ALL_REGIONS = "*"


def marks_of(version: Version | dict[str, str], region: str) -> tuple[str, ...]:
    """The region's own marks in ``version`` ("" for one not there), then the shared ones."""
    found = version if isinstance(version, dict) else dict(version)
    return tuple(found.get(prefix + region, "") for prefix in REGION_MARKS) + tuple(
        found.get(name, "") for name in SHARED_MARKS)


class _Entry:
    __slots__ = ("version", "region", "stamp", "until", "value")

    def __init__(self, version: Version, region: str | None, stamp: Stamp, value: Any, max_age_s: float) -> None:
        self.version, self.region, self.stamp, self.value = version, region, stamp, value
        # served under other versions until a time drawn in the second half of the bound: answers computed
        # together (a region's referrals after a change) do not all expire, and are computed again, at once
        self.until = time.monotonic() + max_age_s * (0.5 + 0.5 * random.random())


class ReadModel:
    """Answers by key, each valid for the state version it was computed at, or for as long as its region's marks
    are unchanged (bounded by ``max_age_s``; thread-safe)."""

    def __init__(self, max_answers: int = MAX_ANSWERS, max_age_s: float = MAX_AGE_S) -> None:
        self.max_answers, self.max_age_s = max_answers, max_age_s
        self._answers: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self._seen: Version | None = None  # the last version observed, and each region's marks and epoch then
        self._marks: dict[str, tuple[str, ...]] = {}
        self._epochs: dict[str, int] = {}
        self.computed = 0  # how many answers were computed (tests and the bench read it)

    def region_stamp(self, version: Version | dict[str, str], region: str) -> Stamp:
        """What an answer about ``region`` is kept under: the region's marks in ``version`` and the number of times
        this process saw them change."""
        marks = marks_of(version, region)
        with self._guard:
            if self._marks.get(region) != marks:
                self._marks[region] = marks
                self._epochs[region] = self._epochs.get(region, 0) + 1
            return marks, self._epochs[region]

    def observe(self, version: Version) -> None:
        """Note ``version`` (every request's): each region whose marks moved since the last one seen gets a new
        epoch, so marks that change and come back are not taken for the marks an answer was computed at."""
        if version == self._seen:
            return
        found = dict(version)
        regions = {name.partition(":")[2] for name in found if name.startswith(REGION_MARKS)}
        for region in regions | set(self._marks):
            self.region_stamp(found, region)
        self._seen = version

    def get(self, version: Version, key: Hashable, compute: Callable[[], V],
            region: str | Callable[[V], str | None] | None = None) -> V:
        """The answer for ``key`` at ``version``: kept, or computed now by ``compute`` (which must read the state
        after ``version`` was read, so it is at least as new). ``region``: the region the answer is about (or how to
        find it in the answer), so that it is kept while that region's marks are unchanged; None: the exact version
        only."""
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
            about = region(value) if callable(region) else region
            if about == ALL_REGIONS:
                about = None
            stamp = self.region_stamp(version, about) if about is not None else None
            with self._guard:
                self.computed += 1
                self._answers[key] = _Entry(version, about, stamp, value, self.max_age_s)
                self._answers.move_to_end(key)
                while len(self._answers) > self.max_answers:
                    old, _ = self._answers.popitem(last=False)
                    self._building.pop(old, None)
            return value

    def _kept(self, version: Version, key: Hashable) -> tuple[Any] | None:
        with self._guard:
            entry = self._answers.get(key)
        if entry is None:
            return None
        if entry.version != version:
            if entry.region is None or time.monotonic() > entry.until:
                return None
            if self.region_stamp(version, entry.region) != entry.stamp:
                return None
        with self._guard:
            if key in self._answers:
                self._answers.move_to_end(key)
        return (entry.value,)

    def clear(self) -> None:
        with self._guard:
            self._answers.clear()
