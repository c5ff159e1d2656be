"""A late producer changes nothing (issue 16 scenario 8): one topic's events of an hour arriving in a burst after
the other topics' end in the ordered replay's state (docs/events.md, "Status changes out of order").

A stream is the simulator's (a small region, a few weeks; generated once per seed). Hypothesis draws which
topic's producer is late, the hour it is late for (a window of up to 60 minutes starting up to an hour before one
of that topic's events, so it always holds some), how long after the window the burst arrives (up to an hour
more) and the batch size; or the topic is late *every* hour of the history (each hour's events of the topic
delivered after the other topics' of that hour). The events are applied in that arrival order through the
Ingestor in batches, on SQLite, and the canonical state (:func:`tests.faults.harness.canonical_hash`: referrals
with status, allocations, cohorts, open alerts) and the people, sentences and requirements must equal the
ordered replay's, with no dead letter and nothing left waiting.

Why the engine converges rather than re-orders: the event-time merger (streams/merge.py) can order only what
has been produced; a producer that is down has produced nothing to wait for. What a late event is dated before
is folded again in event-time order (engine/handlers/status_log.py).

The counterexamples found on the engine before the fold are named tests in tests/unit/engine/test_status_order.py.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from engine.events.registry import topic_of
from engine.persistence.database import Database
from engine.services.ingest import BatchResult, RawEvent
from engine.services.replay import event_time_key, read_lines
from simulator import GeneratorParams, generate
from tests.faults.harness import canonical_hash, differing_tables
from tests.generative.strategies import generative
from tests.support.stores import SqlTestStore
from tests.unit.engine.harness import Harness

TOPICS = ("probation.sentences.v1", "programmes.referrals.v1", "programmes.delivery.v1")
SEEDS = (11, 12)
ALSO = ("people", "sentences", "requirements")  # compared beside the hashed tables


@dataclass(frozen=True)
class Line:
    at: datetime
    topic: str
    raw: str


@cache
def stream(seed: int) -> tuple[Line, ...]:
    """The simulator's events of a small region in event-time order (the ordered replay's order)."""
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "events.jsonl"
        generate(GeneratorParams(weeks=10, scale=0.25, seed=seed), path)
        return tuple(Line(datetime.fromisoformat(item.parsed["occurred_at"]), topic_of(item.parsed["event_type"]),
                          item.raw) for item in sorted(read_lines(path), key=event_time_key))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def late_window(lines: tuple[Line, ...], topic: str, start: datetime, length: timedelta,
                after: timedelta) -> list[Line]:
    """The topic's events dated in [start, start + length) arrive together, after every other event dated
    before start + length + after (the producer caught up then)."""
    end = start + length
    held = [x for x in lines if x.topic == topic and start <= x.at < end]
    rest = [x for x in lines if not (x.topic == topic and start <= x.at < end)]
    cut = next((n for n, x in enumerate(rest) if x.at >= end + after), len(rest))
    return rest[:cut] + held + rest[cut:]


def late_every_hour(lines: tuple[Line, ...], topic: str) -> list[Line]:
    """Each clock hour's events of the topic arrive after the other topics' events of that hour."""
    out: list[Line] = []
    held: list[Line] = []
    hour = None
    for x in lines:
        this = x.at.replace(minute=0, second=0, microsecond=0)
        if this != hour:
            out += held
            held, hour = [], this
        (held if x.topic == topic else out).append(x)
    return out + held


@dataclass(frozen=True)
class Late:
    seed: int
    topic: str
    every_hour: bool
    anchor: int  # which of the topic's events the window holds
    lead: int  # minutes the window starts before it
    length: int  # minutes
    after: int  # minutes after the window the burst arrives
    batch: int

    def arrival(self) -> list[Line]:
        lines = stream(self.seed)
        if self.every_hour:
            return late_every_hour(lines, self.topic)
        ours = [x for x in lines if x.topic == self.topic]
        start = ours[self.anchor % len(ours)].at - timedelta(minutes=self.lead)
        return late_window(lines, self.topic, start, timedelta(minutes=self.length), timedelta(minutes=self.after))


lates = st.builds(Late, st.sampled_from(SEEDS), st.sampled_from(TOPICS), st.booleans(), st.integers(0, 10_000),
                  st.integers(0, 59), st.integers(1, 60), st.integers(0, 60), st.sampled_from((1, 7, 50, 500)))
# A producer days late, as a broker restart makes one (a second of the test's producing is weeks of event time): a
# window of up to three days, arriving up to three days after it, so no event waits past the park timeout (168 h).
# Found here: attendance before the facts that make its place lawful, and attendance after the status change that
# took the person off the programme (tests/unit/engine/test_late_attendance.py).
DAY = 24 * 60
days_late = st.builds(Late, st.sampled_from(SEEDS), st.sampled_from(TOPICS), st.just(False), st.integers(0, 10_000),
                      st.integers(0, 59), st.integers(60, 3 * DAY), st.integers(0, 3 * DAY), st.sampled_from((7, 50, 500)))
# Later than the park timeout: the same windows with a timeout of 2 h, so what waits for the late topic expires
# into dead letters and must come back when the topic catches up (re-admission, docs/events.md "Parked events").
PAST_TIMEOUT = timedelta(hours=2)


class Engines:
    """Fresh SQLite engines from one migrated template; the ordered replay's state per seed, once."""

    def __init__(self, root: Path) -> None:
        self.root, self.template = root, root / "migrated.db"
        Database(f"sqlite:///{self.template}").dispose()
        self.references: dict[int, dict] = {}

    def run(self, lines: list[Line], batch: int, park_timeout: timedelta | None = None,
            result: BatchResult | None = None) -> tuple[dict, list[dict], bool]:
        """The canonical state after applying ``lines`` in this order, the dead letters, whether any event waits
        (or lies dormant, expired); ``result`` adds up the batches' counts."""
        folder = Path(tempfile.mkdtemp(dir=self.root))
        shutil.copyfile(self.template, folder / "cohortplan.db")
        h = Harness(SqlTestStore(f"sqlite:///{folder}/cohortplan.db", "sqlite"))
        if park_timeout is not None:
            h.ingestor.park_timeout = park_timeout
        try:
            for n in range(0, len(lines), batch):
                done = h.ingestor.process([RawEvent(x.raw, x.topic, n + k) for k, x in enumerate(lines[n:n + batch])])
                if result is not None:
                    result.add(done)
            return h.state(), h.dead_letters(), bool(h.db.rows("parked_events"))
        finally:
            h.db.dispose()
            shutil.rmtree(folder, ignore_errors=True)

    def reference(self, seed: int) -> dict:
        if seed not in self.references:
            state, letters, waiting = self.run(list(stream(seed)), 200)
            assert (letters, waiting) == ([], False), "the ordered replay is not clean"
            self.references[seed] = state
        return self.references[seed]


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> Engines:
    return Engines(tmp_path_factory.mktemp("late-producer"))


def check(engines: Engines, late: Late, park_timeout: timedelta | None = None) -> BatchResult:
    expected = engines.reference(late.seed)
    result = BatchResult()
    state, letters, waiting = engines.run(late.arrival(), late.batch, park_timeout, result)
    differing = differing_tables(state, expected, names=(*ALSO, "referrals", "allocations", "cohorts",
                                                         "active_alerts"))
    want = {r["referral_id"]: r for r in expected["referrals"]}
    referrals = [{"referral_id": r["referral_id"]} | {k: (v, want[r["referral_id"]][k]) for k, v in r.items()
                                                      if v != want[r["referral_id"]][k]}
                 for r in state["referrals"] if r != want.get(r["referral_id"])]
    detail = f"{late}: differing tables {differing}; referrals (arrival, ordered) {referrals[:5]}"
    assert [letter["reason"] for letter in letters] == [], detail
    assert not waiting, f"{detail}: an event is still waiting"
    assert canonical_hash(state) == canonical_hash(expected), detail
    assert differing == {}, detail
    return result


@generative(12)
@given(lates)
def test_a_late_producer_ends_in_the_ordered_replays_state(engines, late: Late):
    note(repr(late))
    check(engines, late)


@generative(12)
@given(days_late)
def test_a_producer_days_late_ends_in_the_ordered_replays_state(engines, late: Late):
    note(repr(late))
    check(engines, late)


@generative(12)
@given(days_late)
def test_a_producer_later_than_the_park_timeout_ends_in_the_ordered_replays_state(engines, late: Late):
    """What waited for the late topic expired into dead letters; re-admitted when it caught up, each dead letter
    settled, nothing left dormant."""
    note(repr(late))
    result = check(engines, late, PAST_TIMEOUT)
    note(f"expired {result.expired}, re-admitted {result.readmitted}")
    assert result.readmitted == result.expired


def test_a_day_late_producer_past_the_park_timeout_expires_events_and_readmits_every_one(engines):
    """The property above could pass with nothing ever expiring: this window of a day, arriving a day later,
    with a 2 h timeout, expires events (the property's premise) and brings every one back."""
    result = check(engines, Late(SEEDS[0], TOPICS[0], False, 40, 0, DAY, DAY, 50), PAST_TIMEOUT)
    assert result.expired > 0
    assert result.readmitted == result.expired


@pytest.mark.parametrize("topic", TOPICS)
def test_a_topic_late_every_hour_ends_in_the_ordered_replays_state(engines, topic):
    """The harshest arrival the property draws, for every topic: nothing left to chance."""
    check(engines, Late(SEEDS[0], topic, True, 0, 0, 60, 0, 50))
