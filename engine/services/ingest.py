"""Apply a batch of raw inbound messages in one transaction: decode, deduplicate, handle, record.

Nothing stops a batch: bad input becomes a dead letter with its reason and the raw text, an event
whose subject has not arrived yet is parked, a stale one is recorded and ignored.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

from engine.domain.errors import DomainError
from engine.events.decode import Decoded, InvalidEvent, decode
from engine.handlers import HANDLERS, Context, EngineRules, Parked, Stale
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


@dataclass
class BatchResult:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    parked: int = 0
    unparked: int = 0
    dead_lettered: int = 0
    dirty_regions: set[str] = field(default_factory=set)
    clock: datetime | None = None

    def add(self, other: "BatchResult") -> None:
        for name in ("received", "applied", "duplicates", "stale", "parked", "unparked", "dead_lettered"):
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
            uow.commit()
        return result

    def _decode(self, uow: UnitOfWork, item: RawEvent, result: BatchResult) -> Decoded | None:
        try:
            return decode(item.raw, item.parsed)
        except InvalidEvent as exc:
            self._reject(uow, item, str(exc), None, result)
            return None

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
        uow.dead_letter(DeadLetter(item.origin, reason, item.raw, item.line_number, item.partition,
                                   item.offset, event_id), datetime.now(timezone.utc))
        result.dead_lettered += 1
