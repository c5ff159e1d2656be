"""``cohortplan replay --rate``: a paced replay commits what is due before it waits, as a worker commits what it
has read, and never runs ahead of its rate. Time is a fake clock: nothing here sleeps."""
from __future__ import annotations

import pytest

from engine.domain.rules import EngineRules
from engine.services.ingest import Ingestor, RawEvent
from engine.services.replay import Pace, Replay
from tests.support.events import person_with_referral


class FakeTime:
    def __init__(self) -> None:
        self.now, self.slept = 100.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


class CountingIngestor(Ingestor):
    """The real ingest, noting the size of each batch it is given (one transaction each) and when."""

    def __init__(self, uow_factory, rules, time: FakeTime) -> None:
        super().__init__(uow_factory, rules)
        self.batches, self.time = [], time

    def process(self, batch):
        self.batches.append((len(batch), self.time.now))
        return super().process(batch)


def lines(n_people: int) -> list[RawEvent]:
    return [RawEvent(line, "t", i) for i, line in enumerate(
        (line for k in range(n_people) for line in person_with_referral(f"X{k:06d}")), 1)]


def test_a_replay_it_keeps_up_with_commits_each_event_when_it_is_due(store):
    time = FakeTime()
    ingestor = CountingIngestor(store.uow, EngineRules(), time)
    events = lines(2)
    summary = Replay(ingestor, batch_size=2000, pace=Pace(10, time.clock, time.sleep)).run(events)
    assert summary.ingest.applied == len(events) > 2
    # event n is due 0.1 n s after the first: each is committed on its own, none before it is due
    assert [size for size, _ in ingestor.batches] == [1] * len(events)
    assert [round(at - 100.0, 6) for _, at in ingestor.batches] == [round(n / 10, 6) for n in range(len(events))]
    assert time.slept == [0.1] * (len(events) - 1)


def test_a_replay_that_falls_behind_commits_what_is_due_in_one_batch(store):
    time = FakeTime()
    ingestor = CountingIngestor(store.uow, EngineRules(), time)
    events = lines(2)
    real = ingestor.process

    def slow(batch):  # the first commit takes 0.35 s: three more events come due meanwhile
        result = real(batch)
        time.now += 0.35 if len(ingestor.batches) == 1 else 0.0
        return result

    ingestor.process = slow
    Replay(ingestor, batch_size=2000, pace=Pace(10, time.clock, time.sleep)).run(events)
    sizes = [size for size, _ in ingestor.batches]
    assert sizes[:2] == [1, 3] and sum(sizes) == len(events)


@pytest.mark.parametrize("rate", [0, -1.0, float("nan")])
def test_a_pace_must_be_a_positive_rate(rate):
    with pytest.raises(ValueError, match="positive number of events a second"):
        Pace(rate)
