"""A unit of work is freed as soon as it ends, on every store: nothing the handlers build keeps it alive.

A confirmation store registered per unit of work (engine/handlers/confirmations.py) held its unit of work
strongly from a weak-keyed registry, so every unit of work the ingest opened — its session, identity maps and
loaded objects — lived as long as the process. The stream worker's heap grew by one per batch, and each full
collection walked all of them: a 167 ms pause every few seconds, held by every event behind it (BENCHMARKS.md,
issue 16, session 16). Freed by reference counting alone, with the collector off: a cycle would leave the unit
of work to the collector's oldest generation, which is what made those pauses long.
"""
from __future__ import annotations

import gc
import weakref
from datetime import timedelta

from tests.support.events import T0, person_with_referral
from tests.unit.engine.harness import Harness


def test_every_unit_of_work_the_ingest_opens_is_freed_when_it_ends(store, monkeypatch):
    opened: list[weakref.ref] = []
    real = store.uow

    def tracked():
        uow = real()
        opened.append(weakref.ref(uow))
        return uow

    monkeypatch.setattr(store, "uow", tracked)
    h = Harness(store)
    lines = [line for n in range(4) for line in person_with_referral(f"X00010{n}", at=T0 + timedelta(days=n))]
    gc.collect()
    gc.disable()
    try:
        for line in lines:  # one batch each, as a live stream's single events
            assert h.feed(line).applied == 1
        alive = sum(ref() is not None for ref in opened)
    finally:
        gc.enable()
    assert len(opened) >= len(lines)
    assert alive == 0, f"{alive} of {len(opened)} units of work outlived their batch"
