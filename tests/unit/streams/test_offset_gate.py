"""The offset gate admits each inbound partition's messages once, contiguously from the database's offset.

Regression (CI, 2026-12-05, two workers on a real broker): after a rebalance that handed a worker back a
partition whose fetched messages it had dropped, faust delivered the partition from offset 192 while the
database had applied up to 4; the gate logged the gap and skipped offsets 5..191 — a cohort's creation was
among them, and the events waiting for it expired as dead letters. A gap is now read again instead.
"""
from __future__ import annotations

from engine.services.messages import RawEvent
from streams.intake import MAX_REFETCH, OffsetGate

TP_ = ("t.delivery", 1)


def _item(offset: int) -> RawEvent:
    return RawEvent("{}", TP_[0], partition=TP_[1], offset=offset, parsed={})


def _gate(can_seek: bool = True) -> OffsetGate:
    gate = OffsetGate(lambda tp: None, can_seek=can_seek)
    gate.reset([TP_], {TP_: 4})
    return gate


def test_a_gap_is_read_again_from_the_databases_next_offset_not_skipped():
    gate = _gate()
    assert gate.admit(_item(192)) is False
    assert gate.take_seeks() == {TP_: 5}
    assert gate.admit(_item(193)) is False  # fetched before the seek took effect: dropped quietly
    assert gate.take_seeks() == {}
    assert [gate.admit(_item(o)) for o in (5, 6, 7)] == [True, True, True]
    assert gate.gaps == 0


def test_offsets_already_applied_are_dropped():
    gate = _gate()
    assert gate.admit(_item(3)) is False and gate.admit(_item(4)) is False
    assert gate.admit(_item(5)) is True
    assert gate.take_seeks() == {}


def test_a_gap_the_broker_cannot_fill_is_accepted_after_reading_again_and_counted():
    """Retention removed offsets 5..99: every re-read starts at 100."""
    gate = _gate()
    for _ in range(MAX_REFETCH):
        assert gate.admit(_item(100)) is False
        assert gate.take_seeks() == {TP_: 5}
    assert gate.admit(_item(100)) is True
    assert gate.gaps == 1
    assert gate.admit(_item(101)) is True


def test_without_a_consumer_that_can_seek_a_gap_is_accepted_as_before():
    gate = _gate(can_seek=False)
    assert gate.admit(_item(192)) is True
    assert gate.gaps == 1 and gate.take_seeks() == {}
