"""Embedded replay: an event file applied in event-time order, in batches, planning on a clock.

Kafka keeps order per key; a file has no partitions, so the replay restores event-time order itself
(ties broken by a dependency rank and the event id). Combined with idempotent handlers this makes a
replay of a duplicated or shuffled copy end in the same state as a clean one.

The weekly plans follow the event time of the lines the ingest may take (docs/events.md, "Clocks"): a line it
refuses whatever the state never moves them, whatever its ``occurred_at`` says — one that does not decode (bad
JSON, an invalid envelope or payload, a key that is not the payload's crn), one dated beyond the clock bound
(engine/domain/clock.py), one breaking a rule of the message alone (engine/services/admission.py). A refusal
that depends on the state is known only once the line is applied; that line is still a fact of its time.

Reordering moves a message dated far behind to the front, ahead of the lines it arrived after, so each line
also carries the clock a service reading the file would have had when it arrived: a parked event waits from
no earlier (docs/events.md, "Parked events").
"""
from __future__ import annotations

import gc
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from engine.events.decode import Decoded
from engine.services import admission
from engine.services.ingest import BatchResult, Ingestor, RawEvent
from engine.services.planning import Planner, PlanOutcome

# Applying a parent before its children saves a park/unpark round trip; parking handles the rest.
_RANK = {"person.updated": 0, "sentence.imposed": 1, "requirement.created": 2, "licence_condition.created": 2,
         "facilitator.registered": 2, "cohort.planned": 2, "referral.created": 3}
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def read_lines(path: Path) -> Iterator[RawEvent]:
    """Non-blank lines with their numbers; JSON objects are parsed once here for sorting and decoding."""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield RawEvent(line.rstrip("\n"), str(path), line_number=number, parsed=object_or_none(line))


def object_or_none(line: str) -> dict | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def event_time_key(item: RawEvent) -> tuple:
    """Sort key from the content only; unreadable lines sort first (they go straight to dead letters)."""
    try:
        data = item.parsed if item.parsed is not None else json.loads(item.raw)
        at = datetime.fromisoformat(data["occurred_at"])
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        return (1, at, _RANK.get(data.get("event_type"), 5), str(data.get("event_id")))
    except (ValueError, TypeError, KeyError, AttributeError):
        return (0, _EPOCH, 0, str(item.line_number))


def arrival_keyed(events: Iterable[RawEvent], ingestor: Ingestor, now: datetime) -> Iterator[tuple[tuple, RawEvent]]:
    """Each line in file (arrival) order with its event-time key, decoded once, and with the event clock a
    service reading the file would have had when it arrived: the latest time of the lines before it that
    are valid (:func:`valid_line`). Every copy of an event id takes the key of its first line, so the
    copy applied is the first in the file (as the service applies the first to arrive) whatever the later
    copies' ``occurred_at`` (the rule for conflicting duplicates in docs/events.md)."""
    first: dict[str, tuple] = {}
    clock = None
    for item in events:
        key = event_time_key(item)
        event_id = (item.parsed or {}).get("event_id") if key[0] else None
        key = first.setdefault(str(event_id), key) if isinstance(event_id, str) else key
        decoded = item.decoding()
        admitted = isinstance(decoded, Decoded) and admission.refusal(decoded, ingestor.rules) is None
        # The decoded event replaces the JSON (built field by field: dataclasses.replace costs more than this).
        item = RawEvent(item.raw, item.origin, item.line_number, item.partition, item.offset, None, item.raw_bytes,
                        decoded, item.received_at, clock, item.parked, admitted)
        if valid_line(item, key[1], clock, ingestor, now):
            clock = max(clock or key[1], key[1])
        yield key, item


def valid_line(item: RawEvent, at: datetime, latest: datetime | None, ingestor: Ingestor, now: datetime) -> bool:
    """Whether the ingest may take a decoded line, judged from the line alone: it decodes, and the ingest's
    refusal whatever the state (:meth:`Ingestor.refusal`, the clock bound after ``latest`` included) finds
    nothing. A line refused so is a dead letter: its ``occurred_at`` moves no clock of the replay's (the plans,
    a later line's arrival)."""
    return (at != _EPOCH and isinstance(item.decoded, Decoded)
            and ingestor.refusal(item.decoded, latest, now, item.admitted) is None)


@dataclass
class Pace:
    """At most ``rate`` events a second: event ``n`` of the replay is due ``n / rate`` seconds after the first.
    Before waiting for an event not yet due, the replay commits what is due already, as a worker commits what it
    has read: at a rate it keeps up with, each event is its own transaction (a backlog replayed into a live
    database without starving its readers, or a worker's load at a given rate; ``cohortplan replay --rate``)."""

    rate: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _first: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"a replay's pace must be a positive number of events a second, not {self.rate!r}")

    def wait(self, n: int) -> float:
        """Seconds until event ``n`` (0 the first) is due; the clock starts at the first call."""
        now = self.clock()
        if self._first is None:
            self._first = now
        return max(0.0, self._first + n / self.rate - now)


@dataclass
class ReplaySummary:
    ingest: BatchResult = field(default_factory=BatchResult)
    plans: list[PlanOutcome] = field(default_factory=list)
    regions: set[str] = field(default_factory=set)
    seconds: float = 0.0


class Replay:
    def __init__(self, ingestor: Ingestor, planner: Planner | None = None,
                 plan_every: timedelta | None = None, batch_size: int = 2000,
                 after_plan: Callable[[], object] | None = None, pace: Pace | None = None) -> None:
        self.ingestor, self.planner = ingestor, planner
        self.plan_every, self.batch_size, self.pace = plan_every, batch_size, pace
        self.after_plan = after_plan  # runs after each committed plan (the outbox readers feed the sinks)

    def run(self, events: Iterable[RawEvent], progress: Callable[[int], None] | None = None) -> ReplaySummary:
        with fewer_collections():
            return self._run(events, progress)

    def _run(self, events: Iterable[RawEvent], progress: Callable[[int], None] | None) -> ReplaySummary:
        started = time.perf_counter()
        now = datetime.now(timezone.utc)
        with read_whole():
            ordered = sorted(arrival_keyed(events, self.ingestor, now), key=lambda pair: pair[0])
        summary, batch, next_plan, latest = ReplaySummary(), [], None, None
        for n, ((_, at, _, _), item) in enumerate(ordered):
            if self.pace and self.pace.wait(n) > 0:  # what is due is committed before waiting for the next
                self._flush(batch, summary, progress)
                if (wait := self.pace.wait(n)) > 0:  # the commit took some of the wait, or all of it
                    self.pace.sleep(wait)
            if valid_line(item, at, latest, self.ingestor, now):  # a line the ingest refuses must not move the plans
                latest = max(latest or at, at)
                if self._planning():
                    next_plan = next_plan or _next_monday(at)
                    while at >= next_plan:
                        self._flush(batch, summary, progress)
                        self._plan_all(summary, next_plan.date())
                        next_plan += self.plan_every
            batch.append(item)
            if len(batch) >= self.batch_size:
                self._flush(batch, summary, progress)
        self._flush(batch, summary, progress)
        summary.seconds = time.perf_counter() - started
        return summary

    def _planning(self) -> bool:
        return self.planner is not None and self.plan_every is not None

    def _flush(self, batch: list[RawEvent], summary: ReplaySummary, progress) -> None:
        if not batch:
            return
        result = self.ingestor.process(batch)
        summary.ingest.add(result)
        summary.regions |= result.dirty_regions
        if progress:
            progress(len(batch))
        batch.clear()

    def _plan_all(self, summary: ReplaySummary, as_of: date) -> None:
        """Plan each region seen, unless it was already planned for this date (a replay of old events)."""
        for region in sorted(summary.regions):
            last = self.planner.last_planned(region)
            if last is None or as_of > last:
                outcome = self.planner.plan(region, as_of)
                summary.plans.append(outcome)
                if self.after_plan:
                    self.after_plan()


@contextmanager
def fewer_collections(young: int = 20_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often while a replay holds the whole file (tens of thousands of
    decoded events, each a few objects that live to the end): with Python's default of a young-generation
    collection every 700 allocations, the collector re-examined them often enough to take about a sixth of the
    replay's CPU time (measured: 7.6 → 6.5 s CPU on the 104-week file). Nothing is freed later than it would be
    by reference counting; the previous thresholds are restored afterwards."""
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if not frozen and gc.get_freeze_count():
            gc.unfreeze()  # what read_whole() set aside is looked at again (cycles among it are collected)


@contextmanager
def read_whole() -> Iterator[None]:
    """Inside :func:`fewer_collections`, while the file is read: no collection runs (what is read is kept to
    the end of the replay, so a collection would find next to nothing to free), and afterwards every object alive
    (``gc.freeze``) is left out of the collections that run while the batches are applied (measured: the
    collector's re-examining of the file's objects was about a tenth of the replay's time). Nothing is freed
    later than reference counting frees it; a cycle alive then is collected after the replay, when
    :func:`fewer_collections` gives the frozen objects back. Not frozen when something else froze objects
    already (only what this replay froze is given back)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
    if not gc.get_freeze_count():
        gc.freeze()


def _next_monday(at: datetime) -> datetime:
    day = at.date() + timedelta(days=(7 - at.weekday()) % 7 or 7)
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
