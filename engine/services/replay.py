"""Embedded replay: an event file applied in event-time order, in batches, planning on a clock.

Kafka keeps order per key; a file has no partitions, so the replay restores event-time order itself
(ties broken by a dependency rank and the event id). Combined with idempotent handlers this makes a
replay of a duplicated or shuffled copy end in the same state as a clean one.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

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


def arrival_keyed(events: Iterable[RawEvent]) -> Iterator[tuple[tuple, RawEvent]]:
    """Each line with its event-time key; every copy of an event id takes the key of its first line, so
    the copy applied is the first in the file (as the service applies the first to arrive) whatever the
    later copies' ``occurred_at`` (the rule for conflicting duplicates in docs/events.md)."""
    first: dict[str, tuple] = {}
    for item in events:
        key = event_time_key(item)
        event_id = (item.parsed or {}).get("event_id") if key[0] else None
        yield (first.setdefault(str(event_id), key) if isinstance(event_id, str) else key), item


@dataclass
class ReplaySummary:
    ingest: BatchResult = field(default_factory=BatchResult)
    plans: list[PlanOutcome] = field(default_factory=list)
    regions: set[str] = field(default_factory=set)
    seconds: float = 0.0


class Replay:
    def __init__(self, ingestor: Ingestor, planner: Planner | None = None,
                 plan_every: timedelta | None = None, batch_size: int = 2000,
                 on_alerts: Callable[[list[dict]], None] | None = None) -> None:
        self.ingestor, self.planner = ingestor, planner
        self.plan_every, self.batch_size = plan_every, batch_size
        self.on_alerts = on_alerts  # gets each plan's alert messages once committed (the sinks)

    def run(self, events: Iterable[RawEvent], progress: Callable[[int], None] | None = None) -> ReplaySummary:
        started = time.perf_counter()
        ordered = sorted(arrival_keyed(events), key=lambda pair: pair[0])
        summary, batch, next_plan, latest = ReplaySummary(), [], None, None
        wall_now = datetime.now(timezone.utc)
        for (_, at, _, _), item in ordered:
            if at != _EPOCH and not self.ingestor.clock.admits(at, latest, wall_now):
                batch.append(item)  # dated too far ahead: the ingest refuses it; it must not move the plans
                continue
            latest = max(latest, at) if latest and at != _EPOCH else (at if at != _EPOCH else latest)
            if self._planning() and at != _EPOCH:
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
                if self.on_alerts and outcome.alerts.messages:
                    self.on_alerts(outcome.alerts.messages)


def _next_monday(at: datetime) -> datetime:
    day = at.date() + timedelta(days=(7 - at.weekday()) % 7 or 7)
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
