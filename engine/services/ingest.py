"""Apply a batch of raw inbound messages in one transaction: decode, deduplicate, handle, record.

Nothing stops a batch: bad input becomes a dead letter with its reason and the raw text, an event
whose subject has not arrived yet is parked, a stale one is recorded and ignored.

Messages from a broker carry their topic, partition and offset. The highest offset applied per
partition is stored in the same transaction as the state it produced, so a message redelivered after
a crash (the broker's committed offset lags the database) is recognised and skipped even when it has
no event id, and a dead letter from a broker is also sent to the dead-letter topic through the outbox.
Every region a batch changes gets its dirty generation bumped in the same transaction: the re-planner
plans regions whose generation moved, and a plan clears the mark only if nothing arrived meanwhile.
"""
from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

from engine.domain.errors import DomainError
from engine.events import outbound as o
from engine.events.decode import Decoded, InvalidEvent, decode
from engine.handlers import HANDLERS, Context, EngineRules, Parked, Stale
from engine.outbox import emit, stable_id
from engine.ports import DeadLetter, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawEvent:
    """One inbound message and where it came from (a file line, or a topic partition offset)."""

    raw: str
    origin: str
    line_number: int | None = None
    partition: int | None = None
    offset: int | None = None
    parsed: dict | None = field(default=None, compare=False, repr=False)  # the raw JSON, if already parsed
    raw_bytes: bytes | None = field(default=None, compare=False, repr=False)  # as received, when not UTF-8
    decoded: "Decoded | InvalidEvent | None" = field(default=None, compare=False, repr=False)  # if done already


@dataclass
class BatchResult:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    parked: int = 0
    unparked: int = 0
    dead_lettered: int = 0
    redelivered: int = 0  # broker messages at or below the partition's stored offset: already applied
    dirty_regions: set[str] = field(default_factory=set)
    clock: datetime | None = None

    def add(self, other: "BatchResult") -> None:
        for name in ("received", "applied", "duplicates", "stale", "parked", "unparked", "dead_lettered",
                     "redelivered"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dirty_regions |= other.dirty_regions
        if other.clock and (self.clock is None or other.clock > self.clock):
            self.clock = other.clock


# Payload fields that name an aggregate, by the key family they belong to.
_KEY_FIELDS = {"crn": "crn", "source_crn": "crn", "target_crn": "crn", "sentence_id": "sentence_id",
               "requirement_id": "requirement_id", "licence_condition_id": "requirement_id",
               "referral_id": "referral_id", "members": "referral_id", "cohort_id": "cohort_id",
               "facilitator_id": "facilitator_id"}


@cache
def _key_fields(model: type) -> tuple[tuple[str, str], ...]:
    return tuple((name, family) for name, family in _KEY_FIELDS.items() if name in model.model_fields)


def batch_keys(payloads: Iterable) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {family: set() for family in set(_KEY_FIELDS.values())}
    for payload in payloads:
        values = payload.__dict__
        for name, family in _key_fields(type(payload)):
            value = values[name]
            if isinstance(value, str):
                keys[family].add(value)
            elif isinstance(value, list):
                keys[family].update(value)
    return keys


class Ingestor:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], rules: EngineRules | None = None) -> None:
        self._uow_factory = uow_factory
        self.rules = rules or EngineRules()

    def process(self, batch: Sequence[RawEvent]) -> BatchResult:
        result = BatchResult(received=len(batch))
        with self._uow_factory() as uow:
            uow.lock_writes()
            batch = self._unseen(uow, batch, result)
            decoded = [(item, self._decode(uow, item, result)) for item in batch]
            seen = uow.already_processed(str(d.envelope.event_id) for _, d in decoded if d)
            uow.prefetch(batch_keys(d.payload for _, d in decoded if d))
            for item, event in decoded:
                if event is None:
                    continue
                event_id = str(event.envelope.event_id)
                if event_id in seen:
                    result.duplicates += 1
                    continue
                seen.add(event_id)
                self._apply(uow, item, event, result)
            for region in sorted(result.dirty_regions):
                mark_dirty(uow, region)
            clock = event_clock(uow)
            if result.clock is not None and (clock is None or result.clock > clock):
                uow.set_state(CLOCK, result.clock.isoformat())
            uow.commit()
        return result

    def reject(self, item: RawEvent, reason: str) -> BatchResult:
        """Set one message aside as a dead letter (it failed on its own for a reason not its content's)."""
        result = BatchResult(received=1)
        with self._uow_factory() as uow:
            uow.lock_writes()
            for fresh in self._unseen(uow, [item], result):
                self._reject(uow, fresh, reason, None, result)
            uow.commit()
        return result

    @staticmethod
    def _unseen(uow: UnitOfWork, batch: Sequence[RawEvent], result: BatchResult) -> list[RawEvent]:
        """Drop broker messages already applied (by stored offset) and store the new high-water marks."""
        stored: dict[str, int] = {}
        for item in batch:
            if item.offset is not None and item.partition is not None:
                name = position_key(item.origin, item.partition)
                if name not in stored:
                    stored[name] = int(uow.get_state(name) or -1)
        if not stored:
            return list(batch)
        fresh, high = [], dict(stored)
        for item in batch:
            if item.offset is None or item.partition is None:
                fresh.append(item)
                continue
            name = position_key(item.origin, item.partition)
            if item.offset <= high[name]:
                result.redelivered += 1
                continue
            high[name] = item.offset
            fresh.append(item)
        for name, offset in high.items():
            if offset != stored[name]:
                uow.set_state(name, str(offset))
        return fresh

    def _decode(self, uow: UnitOfWork, item: RawEvent, result: BatchResult) -> Decoded | None:
        outcome = item.decoded if item.decoded is not None else decode_or_error(item)
        if isinstance(outcome, InvalidEvent):
            self._reject(uow, item, str(outcome), None, result)
            return None
        return outcome

    def _apply(self, uow: UnitOfWork, item: RawEvent, event: Decoded, result: BatchResult) -> None:
        envelope = event.envelope
        event_id = str(envelope.event_id)
        ctx = Context(uow, envelope, self.rules)
        try:
            HANDLERS[envelope.event_type](ctx, event.payload)
        except Parked as parked:
            uow.park(event_id, parked.waiting_for, envelope.occurred_at, item.raw)
            result.parked += 1
            return
        except Stale as stale:
            uow.mark_processed(event_id, envelope.event_type, envelope.occurred_at, "STALE")
            log.info("ignored stale %s %s: %s", envelope.event_type, event_id, stale)
            result.stale += 1
            return
        except DomainError as exc:
            self._reject(uow, item, f"{envelope.event_type} rejected: {exc}", event_id, result)
            uow.mark_processed(event_id, envelope.event_type, envelope.occurred_at, "REJECTED")
            return
        uow.mark_processed(event_id, envelope.event_type, envelope.occurred_at, "APPLIED")
        result.applied += 1
        result.dirty_regions |= {r for r in ctx.dirty_regions if r}
        if result.clock is None or envelope.occurred_at > result.clock:
            result.clock = envelope.occurred_at
        self._release(uow, item, ctx.unparked, result)

    def _release(self, uow: UnitOfWork, item: RawEvent, raws: Iterable[str], result: BatchResult) -> None:
        for raw in raws:
            result.unparked += 1
            self._apply(uow, RawEvent(raw, item.origin), decode(raw), result)

    @staticmethod
    def _reject(uow: UnitOfWork, item: RawEvent, reason: str, event_id: str | None,
                result: BatchResult) -> None:
        log.warning("dead letter from %s line %s: %s", item.origin, item.line_number, reason)
        now = datetime.now(timezone.utc)
        uow.dead_letter(DeadLetter(item.origin, reason, item.raw, item.line_number, item.partition,
                                   item.offset, event_id), now)
        if item.partition is not None:  # from a broker: the dead-letter topic too, once per offset
            emit(uow, "event.dead_lettered", f"{item.origin}:{item.partition}", o.DeadLettered(
                original=item.raw, topic=item.origin, partition=item.partition, offset=item.offset, reason=reason,
                original_base64=base64.b64encode(item.raw_bytes).decode() if item.raw_bytes is not None else None),
                now, stable_id("dead-letter", item.origin, item.partition, item.offset))
        result.dead_lettered += 1


def decode_or_error(item: RawEvent) -> Decoded | InvalidEvent:
    """Decode once: the stream consumer does it before merging and passes the outcome along."""
    try:
        return decode(item.raw, item.parsed)
    except InvalidEvent as exc:
        return exc


CLOCK = "clock"  # the latest event time applied: a service planning on event time plans as of its date


def event_clock(uow: UnitOfWork) -> datetime | None:
    value = uow.get_state(CLOCK)
    return datetime.fromisoformat(value) if value else None


OFFSET_PREFIX = "offset:"


def position_key(topic: str, partition: int) -> str:
    return f"{OFFSET_PREFIX}{topic}:{partition}"


def applied_offsets(uow: UnitOfWork) -> dict[tuple[str, int], int]:
    """The highest applied offset per (topic, partition), as stored with the state."""
    out = {}
    for name, value in uow.states(OFFSET_PREFIX).items():
        topic, partition = name.removeprefix(OFFSET_PREFIX).rsplit(":", 1)
        out[(topic, int(partition))] = int(value)
    return out


def dirty_key(region: str) -> str:
    return f"dirty:{region}"


def dirty_regions(uow: UnitOfWork) -> list[str]:
    """Regions whose state changed since their last plan (marks survive restarts: they are rows)."""
    return sorted(name.removeprefix(dirty_key("")) for name, value in uow.states(dirty_key("")).items()
                  if value != "0")


def mark_dirty(uow: UnitOfWork, region: str) -> None:
    """Bump the region's dirty generation: state changed since its last plan."""
    uow.set_state(dirty_key(region), str(int(uow.get_state(dirty_key(region)) or 0) + 1))
