"""The API's read model: answers computed once per state of the engine, then only paged for each caller.

The waiting list and the alert list of a region are the same for every caller until the state changes: computing
them (hundreds of rows read, deadlines and latest starts worked out, models built) cost most of a request. So each
is kept here, per API process, under the **state version** it was computed at —
:meth:`engine.persistence.queries.Queries.state_version`, marks that move with every write of the engine (the event
clock and consumer offsets, each region's dirty generation, plan version, planning date and alert sweep, the highest
outbox, status-history and alert-action ids, the dead letters and parked events), read in one statement at the start
of every request. A request whose version differs from the one an answer was computed at computes it again (one
thread per answer and version; the others wait for it), so no answer older than the state the request saw is
served — except behind the worker's writes, for a few seconds (below).

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
  after it was computed. That is the documented bound on staleness for a change that moves none of the region's
  marks (none is known); a change that moves them is seen by the next request that reads the new version.

**Refreshed ahead, off the requests.** Past a time drawn between half and three quarters of the bound (so that
answers computed together, a region's 500 referrals, come due apart; no earlier than they expired before, so no
more is computed than then), an answer served under another version is still served, and computed again by the
process's one refresher thread, one answer at a time, under the version the request found. Only an answer that
reaches the bound itself is computed in its request (as before). Without this, a busy process's answers came due
within the same half minute and were computed in their requests, forty threads at once, each taking 0.3-1 s of a
contended database and the GIL (the referral route with a writer alongside: BENCHMARKS.md, issue 15, session 5).
The refresh queue is bounded (:data:`MAX_REFRESHING`); an answer not taken into it is computed at the bound in its request, as before.

**Behind the worker's writes, for at most ``max_stale_s``.** An answer about a region whose marks moved is still
served for ``max_stale_s`` (``COHORTPLAN_API_MAX_STALE_S``, default :data:`MAX_STALE_S`) after it was computed, and
computed again off the requests from half that on; the request learns how far behind it was (:class:`Asking`, the
``Age`` header: api/freshness.py). Never when the request asked for the state as it is now (``Cache-Control:
no-cache``), and never behind :data:`ASKED_MARKS` or the shared marks: what the API's own writes move (an override, a
re-plan, an alert action), so whoever made a change reads it back at once. Without this, a region the worker writes
all the time had every answer computed in its request (a replay writing the region: 47-82 referrals/s served of 300
asked).

**Warmed, never computed in a request.** An answer too costly for a request (a region's referrals, computed together
in one pass: api/routes/referrals.py) is read with :meth:`ReadModel.peek`, which serves it if it may be served
and never computes it, and asked for with :meth:`ReadModel.warm`, which has the refresher compute it once the region's marks have stayed
put for :data:`WARM_STABLE_S`, and at most every :data:`WARM_EVERY_S` per key, backing off to :data:`WARM_MAX_S`
while its passes are not served: a region the worker writes all the time moves its marks faster than a pass is
worth computing, and its requests keep computing what they need alone. A kept pass that lacks what
:data:`WARM_MISSED` requests asked for (referrals asked for after it was computed) is computed again, at most every
:data:`WARM_EVERY_S`; and the refresher takes a pass before the single answers waiting for it, which a pass that came
too late would have each computed alone in its request.

An answer about no one region (the known regions, the pseudo-region ``*``, a referral id that does not exist) is kept
only under the exact version it was computed at.

What is kept is the same for everyone: the whole ordered list, before paging, before the caller's filters and
before limited access. Each request filters and pages it, redacts what its caller may not see (the rules are read
for every request, never kept here) and writes its own audit row.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any, TypeVar

log = logging.getLogger(__name__)
V = TypeVar("V")
Version = tuple[tuple[str, str], ...]
Stamp = Hashable

MAX_ANSWERS = 4096  # answers kept per process (lists per region, status and date; referrals); the least recent go
MAX_AGE_S = 60.0  # longest an answer is served under a version other than the one it was computed at
REFRESH_FROM = (0.5, 0.75)  # ... and from when (a share of it drawn in this range) it is computed again off the requests
WARM_EVERY_S = 10.0  # a key :meth:`ReadModel.warm` computes off the requests at most this often ...
WARM_STABLE_S = 2.0  # ... and only once its region's marks have stayed put this long
WARM_MAX_S = 600.0  # ... and, after passes nobody was served from, at most this rarely
WARM_MISSED = 20  # a kept pass lacking what this many requests asked for is computed again (at most every WARM_EVERY_S)
MAX_REFRESHING = 1024  # answers waiting for the refresher at most (one more is computed at the bound by its request)
MAX_STALE_S = 5.0  # the service's default: how long after the worker moved a region's marks its answers may be served
# a region's own marks (prefix + region): the worker's, which an answer may be served behind for ``max_stale_s`` ...
REGION_MARKS = ("dirty:", "plan_version:", "last_planned:", "alert_sweeps:", "asked:")
ASKED_MARKS = ("asked:",)  # ... except these: changes asked for through the API (overrides, re-plans), never behind
SHARED_MARKS = ("max:alert_actions",)  # marks of every region's answers (alert actions: rows of no region's marks)
ALL_REGIONS = "*"
# where a stamp's marks hold those no answer is served behind: the asked marks and the shared ones (alert actions)
_NEVER_BEHIND = (*(REGION_MARKS.index(prefix) for prefix in ASKED_MARKS),
                 *range(len(REGION_MARKS), len(REGION_MARKS) + len(SHARED_MARKS)))


class Asking:
    """One request's terms with the read model: how far behind the worker's writes its answers may be (None: the
    model's own ``max_stale_s``; 0 for a request that said ``Cache-Control: no-cache``), and how far behind the
    oldest answer it was served was, in seconds (0: none was; the ``Age`` header, api/freshness.py)."""

    __slots__ = ("max_stale_s", "age_s")

    def __init__(self, max_stale_s: float | None = None) -> None:
        self.max_stale_s, self.age_s = max_stale_s, 0.0


ASKING: ContextVar[Asking | None] = ContextVar("read_model_asking", default=None)  # set per HTTP request


def marks_of(version: Version | dict[str, str], region: str) -> tuple[str, ...]:
    """The region's own marks in ``version`` ("" for one not there), then the shared ones."""
    found = version if isinstance(version, dict) else dict(version)
    return tuple(found.get(prefix + region, "") for prefix in REGION_MARKS) + tuple(
        found.get(name, "") for name in SHARED_MARKS)


def _never_behind(stamp: Stamp) -> tuple[str, ...]:
    """The marks of a region's stamp (:meth:`ReadModel.region_stamp`) that the API's own writes move."""
    marks = stamp[0]
    return tuple(marks[i] for i in _NEVER_BEHIND)


class _Entry:
    __slots__ = ("version", "region", "stamp", "at", "until", "due", "value", "behind", "again")

    def __init__(self, version: Version, region: str | None, stamp: Stamp, value: Any, max_age_s: float,
                 now: float, behind: bool = False) -> None:
        self.version, self.region, self.stamp, self.value, self.at = version, region, stamp, value, now
        self.behind = behind  # an answer about no region that may be served behind any write (:meth:`get`)
        self.until = now + max_age_s  # served under other versions until then, never later
        # ... and computed again off the requests from a time drawn early in the bound: answers computed together
        # (a region's referrals after a change) do not all come due, and are computed again, at once
        self.due = now + max_age_s * random.uniform(*REFRESH_FROM)
        self.again = False  # due now, whatever the version (a pass lacking what was asked for: ReadModel.warm)


class _Warming:
    """What :meth:`ReadModel.warm` knows of a key: the region's stamp it last saw and since when, when it last asked
    for the key, the wait between passes now, and whether its last pass was served to anyone."""

    __slots__ = ("stamp", "since", "asked", "wait", "served", "missed")

    def __init__(self, stamp: Stamp, since: float, asked: float | None, wait: float, served: bool) -> None:
        self.stamp, self.since, self.asked, self.wait, self.served = stamp, since, asked, wait, served
        self.missed = 0  # requests the kept pass lacked an answer for since it was last asked for


class ReadModel:
    """Answers by key, each valid for the state version it was computed at, or for as long as its region's marks
    are unchanged (bounded by ``max_age_s``; thread-safe)."""

    def __init__(self, max_answers: int = MAX_ANSWERS, max_age_s: float = MAX_AGE_S, max_stale_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic,
                 offload: Callable[[Callable[[], Any]], Any] | None = None) -> None:
        self.max_answers, self.max_age_s, self.max_stale_s, self.clock = max_answers, max_age_s, max_stale_s, clock
        self.offload = offload  # how the refresher computes an answer (api/helper.py); None: in its own thread
        self._answers: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self._seen: Version | None = None  # the last version observed, and each region's marks and epoch then
        self._marks: dict[str, tuple[str, ...]] = {}
        self._epochs: dict[str, int] = {}
        self._refreshing: OrderedDict[Hashable, tuple[Version, Callable[[], Any], Any, bool]] = OrderedDict()
        self._refresher: threading.Thread | None = None
        self._warming: dict[Hashable, _Warming] = {}  # per key :meth:`warm` was called for
        self.tally: Counter[tuple[str, bool]] = Counter()  # answers computed, by kind and whether by the refresher

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
            region: str | Callable[[V], str | None] | None = None, behind: bool = False) -> V:
        """The answer for ``key`` at ``version``: kept, or computed now by ``compute`` (which must read the state
        after ``version`` was read, so it is at least as new). ``region``: the region the answer is about (or how to
        find it in the answer), so that it is kept while that region's marks are unchanged; None: the exact version
        only, unless ``behind``: then it is served under any version for as long as an answer may be served behind
        the worker's writes (``max_stale_s``), and computed again off the requests from half that on (the known
        regions: every request needs them, and a writer changes the version with every event). Such an answer is
        not what the caller is shown, only how it is found (the known regions decide between an answer and 404,
        and a region missing from them is read again), so it adds no ``Age``."""
        found = self._kept(version, key)
        if found is not None:
            if found[1]:
                self._refresh(version, key, compute, region, behind)
            return _served(found)
        return self._compute(version, key, compute, region, behind=behind)

    def peek(self, version: Version, key: Hashable, compute: Callable[[], Any] | None = None,
             region: str | None = None) -> Any | None:
        """The kept answer for ``key`` if it may be served at ``version`` (one due is computed again off the request
        by ``compute``, as :meth:`get` does, when given), else None: nothing is computed in the request."""
        found = self._kept(version, key)
        if found is None:
            return None
        with self._guard:
            if key in self._warming:
                self._warming[key].served = True
        if found[1] and compute is not None:
            self._refresh(version, key, compute, region, first=True)
        return _served(found)

    def warm(self, version: Version, key: Hashable, compute: Callable[[], Any], region: str,
             every_s: float = WARM_EVERY_S, stable_s: float = WARM_STABLE_S, missing: bool = False) -> bool:
        """Have the refresher compute ``key`` at ``version`` off the requests, unless it may be served as kept —
        once the region's marks have stayed put for ``stable_s`` (as the requests calling this saw them), and not
        again within ``every_s``, twice that after a pass nobody was served from (up to :data:`WARM_MAX_S`);
        whether it was asked. A region the worker keeps writing never settles for long: its passes are out of date
        before they are served, and computing them took the CPU its requests needed (a bench with a replay writing
        the same region: 53-80 referrals/s served against 137-295 without passes, as the region grew to ten
        thousand referrals). Unless its answers may be served behind the worker's writes (``max_stale_s``): then a
        pass is served for that long after it is computed, and is asked for without waiting for the marks to
        settle.

        ``missing``: the pass may be served but lacked what the caller asked for (a referral asked for after it was
        computed). Once :data:`WARM_MISSED` requests found it so, and not within ``every_s`` of the last, it is
        computed again, to hold them: with the marks put, a pass would otherwise be kept until it came due, while
        every referral asked for after it was computed alone (reads alone: one pass of the first few ids asked, then
        the 500 others each alone, BENCHMARKS.md issue 15, session 20)."""
        if self._kept(version, key) is not None:
            return missing and self._missed(version, key, compute, region, every_s)
        settle = stable_s if self._allowed() <= 0 else 0.0  # a pass served behind the marks need not wait for them
        stamp, now = self.region_stamp(version, region), self.clock()
        with self._guard:
            w = self._warming.get(key)
            if w is None or w.stamp != stamp:  # the marks moved: see whether they settle
                self._warming[key] = _Warming(stamp, now, w.asked if w else None, w.wait if w else every_s,
                                              w.served if w else True)
                return False
            wait = min(w.wait * 2, WARM_MAX_S) if w.asked is not None and not w.served else every_s
            if now - w.since < settle or (w.asked is not None and now - w.asked < wait):
                return False
            w.asked, w.wait, w.served = now, wait, False
        self._refresh(version, key, compute, region, first=True)
        return True

    def _missed(self, version: Version, key: Hashable, compute: Callable[[], Any], region: str,
                every_s: float) -> bool:
        """Count a request the kept pass ``key`` lacked an answer for; have it computed again once enough did."""
        now = self.clock()
        with self._guard:
            w = self._warming.setdefault(key, _Warming(None, now, None, every_s, True))
            w.missed += 1
            if w.missed < WARM_MISSED or (w.asked is not None and now - w.asked < every_s):
                return False
            w.asked, w.missed = now, 0
            entry = self._answers.get(key)
            if entry is not None:
                entry.again = True
        self._refresh(version, key, compute, region, first=True)
        return True

    def _compute(self, version: Version, key: Hashable, compute: Callable[[], V], region: Any,
                 ahead: bool = False, behind: bool = False) -> V:
        """Compute ``key`` (unless another thread just did); ``ahead``: for the refresher, which computes a kept
        answer again only if it is due."""
        with self._guard:
            lock = self._building.setdefault(key, threading.Lock())
        with lock:  # one computation per key at a time: the others wait and take its answer
            found = self._kept(version, key)
            if found is not None and not (ahead and found[1]):
                return _served(found)
            value = self.offload(compute) if ahead and self.offload is not None else compute()
            about = region(value) if callable(region) else region
            if about == ALL_REGIONS:
                about = None
            stamp = self.region_stamp(version, about) if about is not None else None
            with self._guard:
                self.tally[kind_of(key), ahead] += 1
                self._answers[key] = _Entry(version, about, stamp, value, self.max_age_s, self.clock(),
                                            behind and about is None)
                self._answers.move_to_end(key)
                while len(self._answers) > self.max_answers:
                    old, _ = self._answers.popitem(last=False)
                    self._building.pop(old, None)
            return value

    def _allowed(self) -> float:
        """How long after it was computed an answer may be served behind its region's marks, for this request."""
        asking = ASKING.get()
        if asking is None or asking.max_stale_s is None:
            return self.max_stale_s
        return min(asking.max_stale_s, self.max_stale_s)

    def _kept(self, version: Version, key: Hashable) -> tuple[Any, bool, float] | None:
        """The kept answer for ``key`` at ``version``, whether it is due to be computed again, and how long it has
        been kept if it is behind the region's marks (else 0); None if it may not be served."""
        with self._guard:
            entry = self._answers.get(key)
        if entry is None:
            return None
        due, behind = entry.again, 0.0
        if entry.version != version:
            now = self.clock()
            if (entry.region is None and not entry.behind) or now > entry.until:
                return None
            # an answer about no region (kept ``behind``) is behind every write; a region's, behind its marks' moves
            stamp = self.region_stamp(version, entry.region) if entry.region is not None else None
            if stamp is not None and stamp == entry.stamp:
                due = due or now > entry.due
            else:  # served behind the writes for a while, unless a change asked through the API moved the region
                behind, allowed = now - entry.at, self._allowed()
                if allowed <= 0 or behind > allowed or (
                        stamp is not None and _never_behind(stamp) != _never_behind(entry.stamp)):
                    return None
                due = due or behind >= allowed / 2
                if stamp is None:
                    behind = 0.0  # not the caller's answer: no Age (see get)
        with self._guard:
            if key in self._answers:
                self._answers.move_to_end(key)
        return entry.value, due, behind

    # refreshed ahead ---------------------------------------------------------------------------------------
    def _refresh(self, version: Version, key: Hashable, compute: Callable[[], Any], region: Any,
                 behind: bool = False, first: bool = False) -> None:
        """Have the refresher compute ``key`` again under ``version`` (once however many requests find it due);
        ``first``: ahead of the answers already waiting (a pass, which answers for many keys: behind a burst of
        single answers it could come too late, and the requests it served would each be computed alone)."""
        with self._guard:
            if key in self._refreshing or len(self._refreshing) >= MAX_REFRESHING:
                return
            self._refreshing[key] = (version, compute, region, behind)
            if first:
                self._refreshing.move_to_end(key, last=False)
            if self._refresher is None:
                self._refresher = threading.Thread(target=self._refresh_all, name="read-model-refresh", daemon=True)
                self._refresher.start()

    def _refresh_all(self) -> None:
        while True:
            with self._guard:
                if not self._refreshing:
                    self._refresher = None  # the next answer due starts another
                    return
                key, (version, compute, region, behind) = next(iter(self._refreshing.items()))
            try:
                self._compute(version, key, compute, region, ahead=True, behind=behind)
            except Exception:  # noqa: BLE001 - the kept answer stays until its bound; its request computes it then
                log.exception("computing a kept answer again failed (%s)", key[0] if isinstance(key, tuple) else key)
            finally:
                with self._guard:
                    self._refreshing.pop(key, None)

    def tallied(self) -> dict[tuple[str, bool], int]:
        """Answers computed so far, by kind (:func:`kind_of`) and whether by the refresher (metrics read it)."""
        with self._guard:
            return dict(self.tally)

    @property
    def computed(self) -> int:
        """How many answers were computed (tests read it) ..."""
        return sum(self.tallied().values())

    @property
    def refreshed(self) -> int:
        """... of which by the refresher."""
        return sum(n for (_, ahead), n in self.tallied().items() if ahead)

    def refreshing(self) -> int:
        """Answers waiting for the refresher, or being computed by it (tests read it)."""
        with self._guard:
            return len(self._refreshing)

    def clear(self) -> None:
        with self._guard:
            self._answers.clear()


def kind_of(key: Hashable) -> str:
    """The kind of answer a key is for: its first part ("waiting-list", "alerts", "referral", "referrals",
    "regions")."""
    return str(key[0] if isinstance(key, tuple) and key else key)


def _served(found: tuple[Any, bool, float]) -> Any:
    """The kept answer, noting for the request being answered how far behind the region's marks it is."""
    asking = ASKING.get()
    if asking is not None and found[2] > asking.age_s:
        asking.age_s = found[2]
    return found[0]
