"""Run solves in worker processes: CP-SAT never runs on the caller's thread or event loop.

One long-lived spawn-context pool per process (spawn: safe next to threads and event loops), created on
first use; ``solve_many`` fans independent problems out over up to ``workers`` processes.
"""
from __future__ import annotations

import atexit
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable

_pools: dict[int, ProcessPoolExecutor] = {}


def pool(workers: int = 1) -> ProcessPoolExecutor:
    if workers not in _pools:
        _pools[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    return _pools[workers]


def run_in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    return pool(1).submit(fn, *args).result()


def shutdown() -> None:
    for executor in _pools.values():
        executor.shutdown(cancel_futures=True)
    _pools.clear()


atexit.register(shutdown)
