"""Run solves in worker processes: CP-SAT never runs on the caller's thread or event loop.

One long-lived spawn-context pool per process and niceness (spawn: safe next to threads and event loops), created
on first use; ``solve_many`` fans independent problems out over up to ``workers`` processes.

A pool's processes may run at a lower CPU priority than the process that started them (``niceness`` added, Unix): a
plan's search then takes the CPU that the service's own work leaves. A plan is background work wanted in minutes, a
request in milliseconds: on two cores a worker's CP-SAT plans (two search threads, 19-33 s) took the HTTP API's
p99 beside it to a median of 76-205 ms per route, and 10 below to 62-160 ms, a gain within the spread between runs
(BENCHMARKS.md, issue 15, session 20).

A pool process dies with the process that started it, even when that one is SIGKILLed (no atexit, no
shutdown): otherwise it (~330 MB with CP-SAT loaded) and the multiprocessing resource tracker, which
lives while any holder of its pipe does, would run for ever. Two mechanisms, set by the initializer:

- Linux: ``prctl(PR_SET_PDEATHSIG)``. The kernel sends the signal when the *thread* that spawned the
  child ends, not only the process (prctl(2)), and the pool is shared by threads that come and go (the
  API's job runner), so the signal is a catchable one whose handler exits only if the parent really
  is gone (the child was re-parented).
- Everywhere: a watchdog thread that polls the parent pid every :data:`WATCH_INTERVAL_S` and exits the
  process when it changed. It also covers a signal that arrives while the main thread is inside a
  solve (CP-SAT releases the GIL; a Python signal handler runs only between bytecodes).
"""
from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable

_pools: dict[tuple[int, int], ProcessPoolExecutor] = {}

PR_SET_PDEATHSIG = 1         # <linux/prctl.h>
PARENT_GONE = signal.SIGUSR1
WATCH_INTERVAL_S = 0.5
ORPHAN_EXIT_CODE = 70        # what a pool process exits with when its parent is gone


def pool(workers: int = 1, niceness: int = 0) -> ProcessPoolExecutor:
    """The pool of ``workers`` processes, each ``niceness`` below this process's CPU priority."""
    key = (workers, niceness)
    if key not in _pools:
        _pools[key] = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=started, initargs=(os.getpid(), niceness))
    return _pools[key]


def run_in_worker(fn: Callable[..., Any], *args: Any, niceness: int = 0) -> Any:
    return pool(1, niceness).submit(fn, *args).result()


def shutdown() -> None:
    for executor in _pools.values():
        executor.shutdown(cancel_futures=True)
    _pools.clear()


atexit.register(shutdown)


def started(parent_pid: int, niceness: int) -> None:
    """A pool process's initializer (this module's pools' and the API's read helper's, api/helper.py): it dies with
    its parent, and runs ``niceness`` below it (before any other thread exists: threads take their creator's
    niceness)."""
    die_with_parent(parent_pid)
    if niceness > 0 and hasattr(os, "nice"):
        os.nice(niceness)


def die_with_parent(parent_pid: int) -> None:
    """In a pool process: exit as soon as ``parent_pid`` is no longer this process's parent."""
    if sys.platform.startswith("linux"):
        signal.signal(PARENT_GONE, lambda *_: _exit_if_orphaned(parent_pid))
        _set_parent_death_signal(PARENT_GONE)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()
    _exit_if_orphaned(parent_pid)  # it may have died before the signal was set up


def _set_parent_death_signal(sig: int) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc or no prctl: the watchdog alone
        return False


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(WATCH_INTERVAL_S)
        _exit_if_orphaned(parent_pid)


def _exit_if_orphaned(parent_pid: int) -> None:
    if os.getppid() != parent_pid:
        os._exit(ORPHAN_EXIT_CODE)  # no cleanup to run: the parent that wanted the result is gone
