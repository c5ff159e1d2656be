"""engine.heap.settle: start-up objects frozen once per process, out of the collector's walks."""
from __future__ import annotations

import gc

import engine.heap as heap


def test_settle_freezes_what_is_alive_once_per_process(monkeypatch):
    monkeypatch.setattr(heap, "_settled", False)
    try:
        before = [[]]  # a list holding a list: tracked by the collector
        frozen = heap.settle()
        assert frozen == gc.get_freeze_count() > 0
        assert not any(o is before for o in gc.get_objects())  # frozen: no generation lists it
        later = [[]]
        assert heap.settle() == frozen  # once: the second call freezes nothing more
        assert any(o is later for o in gc.get_objects())
    finally:
        gc.unfreeze()
