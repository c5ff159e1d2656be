"""The read model's answers computed again in a process of the server's own (its *read helper*), not in its
interpreter.

A server process keeps each region's waiting list, alert list and referral pass (api/read_model.py) and has them
computed again, off the requests, every few seconds while the worker writes the region. That computation is Python
(rows read, dates worked out, models built and serialised: 15-100 ms of CPU for the demo region's lists and pass on
an idle machine, 0.3-2 s of wall time beside the worker) and it held the GIL that every request of the process
needs: beside the stream worker, a referral the kept pass already held (microseconds of work) took 80-120 ms while
the pass was rebuilt, and the per-second slowest request beat with the rebuilds. In the helper the same work runs
:data:`NICENESS` below the server's CPU priority, so a request goes first, and the server's threads only unpickle
the answer (2 ms for the demo's 648-row waiting list, each row's JSON already made: :class:`api.responses.Serialised`).
Beside the worker planning with CP-SAT, two runs of four rounds, turn about with the server before it, gave p99
medians of 62 / 147.5 / 163.5 and 54 / 85.5 / 74 ms (waiting list / a referral / alert list) against 166.5 / 139.5 /
215.5 and 197 / 158.5 / 233.5 (BENCHMARKS.md, issue 15, session 21). The cost is a process of ~190 MB beside each
server process.

What may be computed there is a :class:`Computation`: a module-level function of a :class:`api.reads.Reader` and
arguments that pickle, the arguments worked out in the server when it runs (a pass's referral ids are the ones
asked for by then), and what the server does with the answer before keeping it. Called in the server it runs there,
exactly as before; anything else the read model computes (the known regions) still runs in the server.

The helper is one spawn-context process (:mod:`solver.workers` for why spawn, and for how it dies with its server
even when that is SIGKILLed) that opens the server's database itself (never an in-memory one: nothing but the server
could see it), started with the app, so the first answer due finds it warm. When it dies, the computation in hand
is done in the server instead, and the next one starts a new helper; an error *in* a computation (the database
unreachable) is raised as it would be in the server. ``COHORTPLAN_API_READ_HELPER=false`` turns it off (``cohortplan
serve`` turns it on; an app made in a test, off unless asked).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from solver.workers import started

if TYPE_CHECKING:
    from api.reads import Reader
    from engine.settings import EngineSettings

log = logging.getLogger(__name__)
V = TypeVar("V")
NICENESS = 10  # the helper runs this much below its server's CPU priority: a request first, then a kept answer


@dataclass(frozen=True)
class Computation(Generic[V]):
    """``fn(reader, *args)``, where ``args`` is a tuple or what makes one when it runs; ``kept`` is applied to the
    answer in the server wherever it was computed (learning from it what the server keeps beside it)."""

    read: Reader
    fn: Callable[..., V]
    args: tuple | Callable[[], tuple] = ()
    kept: Callable[[V], Any] | None = None

    def arguments(self) -> tuple:
        return self.args() if callable(self.args) else self.args

    def __call__(self) -> V:
        return self.received(self.fn(self.read, *self.arguments()))

    def received(self, value: V) -> V:
        if self.kept is not None:
            self.kept(value)
        return value


class ReadHelper:
    """The helper process of one server process: :meth:`run` a :class:`Computation` in it (thread-safe)."""

    def __init__(self, settings: EngineSettings, niceness: int = NICENESS) -> None:
        self.settings, self.niceness = settings, niceness
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False  # after close, everything is computed in the server (the refresher may still run)
        self._guard = threading.Lock()
        self.ran = 0  # computations answered by the helper (tests read it) ...
        self.fell_back = 0  # ... and done in the server because the helper had died
        self.started = 0  # helper processes started

    def start(self) -> None:
        """Start the helper now (it takes a second or two to import and open the database), without waiting."""
        pool = self._executor()
        if pool is not None:
            pool.submit(os.getpid)

    def run(self, compute: Callable[[], V]) -> V:
        """``compute``'s answer: a :class:`Computation` by the helper, anything else here."""
        pool = self._executor() if isinstance(compute, Computation) else None
        if pool is None:
            return compute()
        try:
            value = pool.submit(_computed, compute.fn, compute.arguments()).result()
        except BrokenProcessPool:  # the helper died: this one here, the next in a new helper
            with self._guard:
                if self._pool is pool:
                    self._pool = None
                self.fell_back += 1
            log.warning("the read helper process ended; computing in the server and starting another")
            return compute()
        with self._guard:
            self.ran += 1
        return compute.received(value)

    def pid(self) -> int:
        """The helper's process id (started if it is not running)."""
        pool = self._executor()
        if pool is None:
            raise RuntimeError("the read helper was closed")
        return pool.submit(os.getpid).result()

    def close(self) -> None:
        with self._guard:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    def _executor(self) -> ProcessPoolExecutor | None:
        """The helper (started if it is not running); None once closed."""
        with self._guard:
            if self._closed:
                return None
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_started,
                                                 initargs=(os.getpid(), self.settings, self.niceness))
                self.started += 1
            return self._pool


# in the helper process ------------------------------------------------------------------------------------------
_reader: Reader | None = None


def _started(parent_pid: int, settings: EngineSettings, niceness: int) -> None:
    """The helper's initializer: it dies with its server, runs ``niceness`` below it, and opens the database (no
    migrations: the server did)."""
    global _reader
    started(parent_pid, niceness)
    from api.reads import Reader
    from engine.bootstrap import bootstrap
    _reader = Reader(bootstrap(settings, run_migrations=False), 0.0)


def _computed(fn: Callable[..., Any], args: tuple) -> Any:
    assert _reader is not None, "the read helper's initializer did not run"
    return fn(_reader, *args)
