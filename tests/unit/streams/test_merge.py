"""The event-time merge: a worker's partitions applied in event-time order, as the embedded replay would."""
from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime, timedelta, timezone

from engine.services.ingest import RawEvent
from engine.services.replay import event_time_key, object_or_none
from streams.merge import EventTimeMerger
from tests.support.events import event
from tests.support.polling import wait_until_async

T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)


def _msg(tp: tuple[str, int], offset: int, at: datetime, raw: str | None = None) -> RawEvent:
    line = raw if raw is not None else event("person.updated", at, crn=f"X{offset:06d}", region_code="RS",
                                              pdu_code="RS-P01", sex="MALE")
    return RawEvent(line, tp[0], partition=tp[1], offset=offset, parsed=object_or_none(line))


async def _applied(batch) -> None:
    """The apply step these tests do not look at (they call release themselves)."""


def _merger(caught_up=lambda tp: False, idle_s=100.0, behind=lambda tp: False):
    return EventTimeMerger(_applied, idle_s=idle_s, caught_up=caught_up, behind=behind)


A, B = ("a", 0), ("b", 0)


def test_a_message_waits_for_a_partition_that_has_not_delivered_yet():
    m = _merger()
    m.assign([A, B])
    asyncio.run(m.submit([_msg(A, 0, T0 + timedelta(hours=1))]))
    assert m.release(now=0.0) == []
    asyncio.run(m.submit([_msg(B, 0, T0)]))
    released = m.release(now=0.0)
    assert [r.origin for r in released] == ["b"]  # b's earlier message first; a's waits for b's next


def test_a_caught_up_partition_holds_nobody_back():
    m = _merger(caught_up=lambda tp: tp == B)
    m.assign([A, B])
    asyncio.run(m.submit([_msg(A, 0, T0)]))
    assert [r.origin for r in m.release(now=0.0)] == ["a"]


def test_a_partition_that_went_quiet_holds_the_others_back_at_most_idle_s():
    m = _merger(idle_s=2.0)
    m.assign([A, B])
    asyncio.run(m.submit([_msg(B, 0, T0)]))
    asyncio.run(m.submit([_msg(A, 0, T0 + timedelta(hours=1))]))
    assert [r.origin for r in m.release()] == ["b"]
    import time
    later = time.monotonic() + 1.0
    assert m.release(now=later) == []
    assert [r.origin for r in m.release(now=later + 1.5)] == ["a"]


def test_an_invalid_message_goes_first_and_its_claimed_time_moves_no_frontier():
    m = _merger()
    m.assign([A, B])
    bogus = json.dumps({"event_type": "referral.teleported", "occurred_at": "2030-01-01T00:00:00Z"})
    asyncio.run(m.submit([_msg(A, 0, T0, raw=bogus), _msg(A, 1, T0 + timedelta(hours=5))]))
    asyncio.run(m.submit([_msg(B, 0, T0 + timedelta(hours=1))]))
    out = m.release(now=0.0)
    assert [(r.origin, r.offset) for r in out] == [("a", 0), ("b", 0)]  # then a@1 waits for b's next


def test_revoking_a_partition_returns_its_unapplied_messages():
    m = _merger()
    m.assign([A, B])
    asyncio.run(m.submit([_msg(A, 0, T0), _msg(A, 1, T0)]))
    dropped = m.revoke([A])
    assert [r.offset for r in dropped] == [0, 1] and m.buffered == 0 and m.partitions == [B]


def test_random_interleavings_come_out_in_event_time_order():
    rng = random.Random(5)
    parts = {(t, p): [] for t in "abc" for p in range(2)}
    at = T0
    for n in range(600):
        at += timedelta(minutes=rng.randint(0, 30))
        tp = rng.choice(list(parts))
        parts[tp].append(_msg(tp, len(parts[tp]), at))
    applied: list[RawEvent] = []
    pos = dict.fromkeys(parts, 0)

    async def apply(batch):
        applied.extend(batch)

    async def main():
        m = EventTimeMerger(apply, idle_s=100, batch_max=50, caught_up=lambda tp: pos[tp] >= len(parts[tp]))
        m.assign(parts)
        task = asyncio.create_task(m.run())
        while any(pos[tp] < len(parts[tp]) for tp in parts):
            tp = rng.choice([t for t in parts if pos[t] < len(parts[t])])
            chunk = parts[tp][pos[tp]:pos[tp] + rng.randint(1, 40)]
            pos[tp] += len(chunk)
            await m.submit(chunk)
            await asyncio.sleep(0)
        await wait_until_async(lambda: len(applied) == 600, timeout=10)
        task.cancel()

    asyncio.run(main())
    keys = [event_time_key(e) for e in applied]
    assert len(applied) == 600 and keys == sorted(keys)
    for tp in parts:  # each partition contiguous and in offset order
        assert [e.offset for e in applied if (e.origin, e.partition) == tp] == list(range(len(parts[tp])))


# several workers: low watermarks of partitions owned elsewhere -------------------------------------

C = ("c", 0)  # owned by another worker


def test_a_partition_owned_elsewhere_holds_messages_later_than_its_low_watermark():
    m = _merger(caught_up=lambda tp: True)
    m.assign([A])
    asyncio.run(m.submit([_msg(A, 0, T0), _msg(A, 1, T0 + timedelta(hours=2))]))
    m.set_foreign({C: event_time_key(_msg(C, 5, T0 + timedelta(hours=1)))})
    assert [r.offset for r in m.release(now=0.0)] == [0]  # the later one waits for the other worker
    m.set_foreign({C: event_time_key(_msg(C, 6, T0 + timedelta(hours=3)))})
    assert [r.offset for r in m.release(now=0.0)] == [1]


def test_a_caught_up_partition_elsewhere_holds_nothing_and_own_partitions_are_never_foreign():
    m = _merger(caught_up=lambda tp: True)
    m.assign([A])
    asyncio.run(m.submit([_msg(A, 0, T0 + timedelta(hours=5))]))
    m.set_foreign({C: None, A: ()})  # A is ours: another worker's stale entry for it is ignored
    assert m.foreign == {C: None}
    assert [r.offset for r in m.release(now=0.0)] == [0]


def test_an_invalid_message_is_released_whatever_the_other_workers_hold():
    m = _merger(caught_up=lambda tp: True)
    m.assign([A])
    asyncio.run(m.submit([_msg(A, 0, T0, raw="{broken")]))
    m.set_foreign({C: ()})
    assert [r.offset for r in m.release(now=0.0)] == [0]


def test_lows_are_the_queue_head_else_the_last_received_else_nothing_when_caught_up():
    caught = set()
    m = _merger(caught_up=lambda tp: tp in caught)
    m.assign([A, B])
    assert m.lows() == {A: (), B: ()}  # nothing received and not caught up: may still hold anything
    first, second = _msg(A, 0, T0), _msg(A, 1, T0 + timedelta(hours=1))
    asyncio.run(m.submit([first, second]))
    assert m.lows()[A] == event_time_key(first)
    caught.add(B)
    assert m.lows()[B] is None
    m.release(now=0.0)  # both of A's go (B is caught up)
    assert m.lows()[A] == event_time_key(first)  # released, not yet committed: a new owner would read it again
    m.committed()
    assert m.lows()[A] == event_time_key(second)  # not caught up: later messages are not earlier
    caught.add(A)
    assert m.lows()[A] is None


def test_a_released_batch_bounds_the_low_until_it_commits_even_when_caught_up():
    """Regression (two workers, one killed mid-batch, CI 2026-12-05): the worker published the head
    *after* the batch it was applying as its low, the other worker ran ahead to it, and the killed
    worker's batch, read again by the partition's next owner, was applied after later events."""
    caught = set()
    m = _merger(caught_up=lambda tp: tp in caught)
    m.assign([A, B])
    early, late = _msg(A, 0, T0), _msg(A, 1, T0 + timedelta(hours=2))
    asyncio.run(m.submit([early, late]))
    caught.add(B)
    assert [r.offset for r in m.release(now=0.0)] == [0, 1]
    caught.add(A)  # everything received was released: caught up, nothing queued
    assert m.lows()[A] == event_time_key(early)
    m.committed()
    assert m.lows()[A] is None


def test_two_mergers_exchanging_lows_apply_their_partitions_in_one_event_time_order():
    """Two workers, each owning one partition, exchanging lows: the union of what they release, in
    release order, is the event-time order — whatever the interleaving of the two streams."""
    rng = random.Random(4)
    times = sorted(T0 + timedelta(minutes=rng.randrange(10_000)) for _ in range(60))
    owner = [rng.choice([A, B]) for _ in times]
    left, right = _merger(caught_up=lambda tp: False), _merger(caught_up=lambda tp: False)
    left.assign([A])
    right.assign([B])
    offsets = {A: 0, B: 0}
    for at, tp in zip(times, owner):
        asyncio.run((left if tp == A else right).submit([_msg(tp, offsets[tp], at)]))
        offsets[tp] += 1
    applied = []
    for _ in range(500):
        left.set_foreign(right.lows())
        right.set_foreign(left.lows())
        step = left.release(now=0.0) + right.release(now=0.0)
        left.committed()
        right.committed()
        applied += step
        if len(applied) == len(times) - 2:  # each holds its last until the other is caught up
            break
    keys = [event_time_key(r) for r in applied]
    assert keys == sorted(keys) and len(applied) >= len(times) - 2


def test_a_message_dated_far_past_the_clock_goes_first_and_never_holds_its_partition_back():
    """Issue 18, class 1: a 2099 typo at the head of a partition must not stall that partition's later
    messages while the other topics run ahead (their partners would park and expire)."""
    m = _merger()
    m.assign([A, B])
    asyncio.run(m.submit([_msg(A, 0, T0), _msg(A, 1, datetime(2099, 1, 1, tzinfo=timezone.utc)),
                          _msg(A, 2, T0 + timedelta(hours=2))]))
    asyncio.run(m.submit([_msg(B, 0, T0 + timedelta(hours=1)), _msg(B, 1, T0 + timedelta(hours=3))]))
    released = m.release(now=0.0)
    assert [(r.origin, r.offset) for r in released[:4]] == [("a", 0), ("a", 1), ("b", 0), ("a", 2)]


def test_a_partition_just_given_up_holds_the_rest_until_its_new_owner_publishes_a_low():
    """Found reading the code after a CI failure (two workers, one killed: one status change's removal was
    missing): a revoked partition, until the next exchange, counted as empty, so the worker could run ahead of
    the backlog its new owner re-reads from the database offset."""
    m = _merger(caught_up=lambda tp: True)
    m.assign([A, C])
    asyncio.run(m.submit([_msg(A, 0, T0 + timedelta(hours=2))]))
    m.revoke([C])
    assert m.foreign == {C: ()} and m.release(now=0.0) == []
    m.set_foreign({C: event_time_key(_msg(C, 9, T0 + timedelta(hours=3)))})
    assert [r.offset for r in m.release(now=0.0)] == [0]


def test_the_exchange_holds_for_a_partition_nobody_published_and_lets_a_stale_one_go():
    from types import SimpleNamespace
    from streams.watermarks import WatermarkExchange
    D = ("c", 1)
    m = _merger(caught_up=lambda tp: True)
    m.assign([A])

    class Lows:
        async def exchange_lows(self, mine, stale_s):
            assert set(mine) == {A}  # published even though nobody may be listening
            return {}, {D}

    settings = SimpleNamespace(inbound_topics=("a", "c"), partitions=2, session_timeout_s=10.0,
                               watermark_interval_s=1.0)
    exchange = WatermarkExchange(Lows(), m, settings)
    exchange.every = {A, C, D}
    asyncio.run(exchange.exchange())
    assert m.foreign == {C: ()}  # C: no entry yet → hold; D: stale → its worker is gone, no limit


def test_a_quiet_partition_known_to_be_behind_the_broker_is_waited_for_past_idle_s():
    """Found in the broker-restart test: the outage made every partition quiet, and the first to resume ran
    ahead of another's backlog once idle_s had passed (a removal applied with the wrong cause)."""
    behind = {B}
    m = _merger(idle_s=2.0, behind=lambda tp: tp in behind)
    m.assign([A, B])
    asyncio.run(m.submit([_msg(B, 0, T0)]))
    asyncio.run(m.submit([_msg(A, 0, T0 + timedelta(hours=1))]))
    assert [r.origin for r in m.release()] == ["b"]
    import time
    much_later = time.monotonic() + 600.0
    assert m.release(now=much_later) == []  # b's backlog is on the broker: wait for it
    behind.clear()
    assert [r.origin for r in m.release(now=much_later)] == ["a"]


def test_another_worker_waits_for_a_batch_in_flight_before_applying_later_events():
    left, right = _merger(), _merger()
    left.assign([A])
    right.assign([B])
    asyncio.run(left.submit([_msg(A, 0, T0), _msg(A, 1, T0 + timedelta(hours=3))]))
    asyncio.run(right.submit([_msg(B, 0, T0 + timedelta(hours=1))]))
    left.set_foreign(right.lows())
    assert [r.offset for r in left.release(now=0.0)] == [0]  # the 3 h one waits for B's head
    right.set_foreign(left.lows())
    assert right.release(now=0.0) == []  # A's first is released but not committed: B's later one waits
    left.committed()
    right.set_foreign(left.lows())
    assert [r.offset for r in right.release(now=0.0)] == [0]


def test_partitions_are_given_up_only_after_the_batch_in_flight_commits():
    async def scenario():
        gate = asyncio.Event()
        applied = []

        async def apply(batch):
            await gate.wait()
            applied.extend(batch)

        m = EventTimeMerger(apply, idle_s=100.0, caught_up=lambda tp: True)
        m.assign([A])
        await m.submit([_msg(A, 0, T0)])
        runner = asyncio.create_task(m.run())
        await wait_until_async(lambda: m.in_flight, timeout=5)
        assert await m.settled(0.05) is False  # the database has not answered: still in flight
        gate.set()
        assert await m.settled(5) is True
        assert [r.offset for r in applied] == [0]
        runner.cancel()
    asyncio.run(scenario())


def test_a_worker_owning_every_partition_exchanges_once_a_second_and_every_tick_once_it_shares_them():
    """Nobody reads a lone worker's lows until a worker joins; the rebalance that lets one in takes partitions
    from this one, which exchanges at every tick again from then on (streams.watermarks.LONE_EVERY_S)."""
    from types import SimpleNamespace
    from streams.watermarks import LONE_EVERY_S, WatermarkExchange
    m = _merger(caught_up=lambda tp: True)
    settings = SimpleNamespace(inbound_topics=("a", "b"), partitions=1, session_timeout_s=10.0,
                               watermark_interval_s=0.02)
    exchange = WatermarkExchange(None, m, settings)
    assert exchange.every == {A, B}
    assert exchange.due(0.0)  # owning nothing yet: every tick
    m.assign([A, B])
    assert exchange.due(100.0)  # alone, never exchanged: now
    exchange._last = 100.0
    assert not exchange.due(100.0 + LONE_EVERY_S / 2)
    assert exchange.due(100.0 + LONE_EVERY_S)
    m.revoke([B])  # a worker joined and took b
    assert exchange.due(100.0 + 0.01)  # every tick again, at once
