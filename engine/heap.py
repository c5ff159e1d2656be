"""A long-running process's start-up objects, out of the garbage collector's sight.

What a worker or the API server builds before it serves (modules, faust or FastAPI, the ORM's mappers, pydantic
schemas, the region's calendars) lives as long as the process. Each full collection walked all of it again: in
the stream worker one took 167 ms every few seconds and held every event behind it (BENCHMARKS.md, issue 16,
session 16). :func:`settle` collects once and moves what survives to the permanent generation (``gc.freeze``):
later collections walk only what was made since. Frozen objects are still freed by reference counting; only a
cycle among them would stay, and start-up objects are not garbage.
"""
from __future__ import annotations

import gc


_settled = False


def settle() -> int:
    """Collect, then freeze what is left, once per process (an app served again in one process, as the tests
    do, freezes nothing more: what a test left behind would never be collected); returns how many objects are
    frozen."""
    global _settled
    if not _settled:
        _settled = True
        gc.collect()
        gc.freeze()
    return gc.get_freeze_count()
