"""The server's read process: the costliest answers the API keeps, computed off the server process's interpreter.

**Why another process.** A region's referral pass (api/referral_answers.py: the people holding the referrals its
callers asked for lately, each of their referrals with its history, place, latest starts and explanation,
serialised) took 230-380 ms of a server process on PostgreSQL with a worker writing alongside, and 80-175 ms on an
idle SQLite. Run on the read model's refresher thread, it held the process's GIL for most of that: every request
thread of the process waited behind it at each turn (its read of the state version waited up to 160 ms), and the
referral route's p99 was 158-195 ms where the target is 100 (BENCHMARKS.md, issue 15, session 17). A
:class:`ReadProcess` computes such answers in a child process of its own, one per server process, and hands them
back ready to serve (a referral's answer already serialised): the server only unpickles them, and the refresher
thread waits for the child without holding the GIL.

The child opens the same database with the same settings (``bootstrap(settings)``, no migrations) and answers
through the same :class:`api.reads.Reader` code; it dies with its server process, even when that is SIGKILLed
(:func:`solver.workers.die_with_parent`). A child that dies is replaced at the next computation, and the one it owed
is computed in the server process, as without a child. A database only the server process can open (SQLite in
memory) keeps everything in the server process (:func:`shareable`).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

from engine.settings import EngineSettings
from solver.workers import die_with_parent

if TYPE_CHECKING:
    from api.reads import Reader

log = logging.getLogger(__name__)
T = TypeVar("T")


def shareable(database_url: str) -> bool:
    """Whether another process opening ``database_url`` sees the same data (not SQLite in memory)."""
    url = database_url.lower()
    return not (url.startswith("sqlite") and (url.rstrip("/") in ("sqlite:", "sqlite+pysqlite:") or ":memory:" in url
                                              or "mode=memory" in url))


class ReadProcess:
    """Answers computed in one child process (started on first use, or by :meth:`start`); thread-safe."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._executor: ProcessPoolExecutor | None = None
        self._guard = threading.Lock()
        self.computed = 0  # answers the child computed (tests read it) ...
        self.fallbacks = 0  # ... and answers computed in this process because the child had died

    def start(self) -> None:
        """Start the child now (it takes a second or two to import and open the database), not at the first use."""
        self._pool().submit(os.getpid)

    def pid(self) -> int | None:
        """The child's process id, once it runs (tests read it)."""
        with self._guard:
            processes = list(getattr(self._executor, "_processes", None) or {})
        return processes[0] if processes else None

    def __call__(self, read: Reader, compute: Callable[..., T], *args: Any) -> T:
        """``compute(reader, *args)`` in the child (``compute``: a module-level function, its arguments and answer
        picklable); in ``read``'s process, with ``read``, if the child died."""
        executor = self._pool()
        try:
            found = executor.submit(_in_child, compute, args).result()
        except BrokenProcessPool:
            with self._guard:
                if self._executor is executor:
                    self._executor = None  # the next computation starts another child
            log.warning("the read process died; %s is computed in the server process, the next in a new child",
                        compute.__name__)
            self.fallbacks += 1
            return compute(read, *args)
        self.computed += 1
        return found

    def close(self) -> None:
        with self._guard:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        with self._guard:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_child_start, initargs=(os.getpid(), self.settings))
            return self._executor


_reader: Reader | None = None  # the child's


def _child_start(parent_pid: int, settings: EngineSettings) -> None:
    """In the child: die with the server process; open the database as it does."""
    global _reader
    die_with_parent(parent_pid)
    from api.reads import Reader
    from engine.bootstrap import bootstrap
    _reader = Reader(bootstrap(settings, run_migrations=False), max_stale_s=0.0)


def _in_child(compute: Callable[..., T], args: tuple) -> T:
    assert _reader is not None, "the read process was not started by ReadProcess"
    return compute(_reader, *args)
