"""Apply a batch of raw inbound messages in one transaction: decode, deduplicate, handle, record.

Nothing stops a batch: bad input becomes a dead letter with its reason and the raw text, an event
whose subject has not arrived yet is parked, a stale one is recorded and ignored.

Messages from a broker carry their topic, partition and offset. The highest offset applied per
partition is stored in the same transaction as the state it produced, so a message redelivered after
a crash (the broker's committed offset lags the database) is recognised and skipped even when it has
no event id, and a dead letter from a broker is also sent to the dead-letter topic through the outbox.
Every region a batch changes gets its dirty generation bumped in the same transaction: the re-planner
plans regions whose generation moved, and a plan clears the mark only if nothing arrived meanwhile.

An event id belongs to the first copy recorded (applied, stale, rejected or parked), in processing order.
A later copy with the same content (the same text, or the same content digest) is a duplicate (counted,
dropped); one with different content is a conflicting duplicate: dead-lettered with both texts and never
applied, whatever its ``occurred_at`` (docs/events.md, "Duplicates and conflicts"). A parked event keeps its
source position, so whatever happens when it is released names where it came from, and one that waits longer
than the park timeout of event time (the ingest's clock) becomes a dead letter, kept dormant: if what it waited
for arrives after all, it is re-admitted and its dead letter settled (docs/events.md, "Parked events"). The
wait starts at the latest of the clock, the event's own time and the clock when it arrived (a replayed file's
message).

What makes two copies the same event is :mod:`engine.services.digests`.
"""
from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Sequence

from engine import state_keys as keys
from engine.domain.clock import ClockBounds
from engine.domain.errors import DomainError
from engine.events import outbound as o
from engine.events.decode import Decoded, InvalidEvent
from engine.events.envelope import Envelope
from engine.domain.rules import EngineRules
from engine.handlers import HANDLERS, Context, Parked, Stale
from engine.outbox import emit, stable_id
from engine.services import admission, parking
from engine.services.parking import DEFAULT_PARK_TIMEOUT
from engine.services.digests import content, content_digest, content_of_raw, differences, digest_of, same_content
from engine.services.messages import RawEvent, envelope_event_id, original, position
from engine.handlers.confirmations import reconcile_touched
from engine.services.safety import enforce_touched
from engine.ports import CONFLICT_REASON, DeadLetter, ParkedEvent, SeenCopy, UnitOfWork

log = logging.getLogger(__name__)


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
    conflicts: int = 0  # conflicting duplicates (also counted in dead_lettered)
    expired: int = 0  # parked events that waited too long (also counted in dead_lettered)
    readmitted: int = 0  # expired events applied after all: what they waited for arrived (also in unparked)
    dirty_regions: set[str] = field(default_factory=set)
    clock: datetime | None = None

    def add(self, other: "BatchResult") -> None:
        for name in ("received", "applied", "duplicates", "stale", "parked", "unparked", "dead_lettered",
                     "redelivered", "conflicts", "expired", "readmitted"):
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


@dataclass
class _Run:
    """One transaction's view: the clock when it began, and the recorded copy of every event id it met."""

    uow: UnitOfWork
    result: BatchResult
    clock: datetime | None
    seen: dict[str, SeenCopy]
    deadline: datetime | None = None  # the earliest time a parked event expires; None: nothing can

    def now(self) -> datetime | None:
        """The event clock as of this point in the batch: the latest event time applied (asked a few times
        per event: compared, not built with max() over a filter)."""
        begun, applied = self.clock, self.result.clock
        return begun if applied is None or (begun is not None and begun >= applied) else applied


class Ingestor:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], rules: EngineRules | None = None,
                 park_timeout: timedelta | None = DEFAULT_PARK_TIMEOUT, clock: ClockBounds | None = None) -> None:
        self._uow_factory = uow_factory
        self.rules = rules or EngineRules()
        self.park_timeout = park_timeout  # event time a parked event may wait; None: for ever
        self.clock = clock or ClockBounds()  # how far an event's time may run ahead (docs/events.md, Clocks)

    def process(self, batch: Sequence[RawEvent]) -> BatchResult:
        result = BatchResult(received=len(batch))
        with self._uow_factory() as uow:
            uow.lock_writes()
            uow.read_states([keys.CLOCK, *(keys.OFFSET.key(i.origin, i.partition) for i in batch
                                           if i.offset is not None and i.partition is not None)])
            batch = self._unseen(uow, batch, result)
            decoded = [(item, event, str(event.envelope.event_id)) for item in batch
                       if (event := self._decode(uow, item, result)) is not None]  # the id's text made once
            run = _Run(uow, result, event_clock(uow), uow.seen_copies(event_id for _, _, event_id in decoded))
            uow.prefetch(batch_keys(event.payload for _, event, _ in decoded))
            self._expire(run, first=True)
            for item, event, event_id in decoded:
                self._admit(run, item, event, event_id)
                self._expire(run)
            for region in sorted(result.dirty_regions):
                mark_dirty(uow, region)
            if result.clock is not None and (run.clock is None or result.clock > run.clock):
                uow.set_state(keys.CLOCK, result.clock.isoformat())
            uow.commit()
        return result

    def refusal(self, event: Decoded, latest: datetime | None, now: datetime, admitted: bool = False) -> str | None:
        """Why this message is refused whatever the state, or None: its ``occurred_at`` is past the clock bound
        after ``latest`` (the latest event time applied) or it breaks a rule of the message alone
        (:mod:`engine.services.admission`; not asked again when ``admitted``: it passed them already). The
        embedded replay asks this before a message may move its plans."""
        envelope = event.envelope
        reason = self.clock.refusal(envelope.occurred_at, latest, now) or (
            None if admitted else admission.refusal(event, self.rules))
        return f"{envelope.event_type} rejected: {reason}" if reason is not None else None

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
                name = keys.OFFSET.key(item.origin, item.partition)
                if name not in stored:
                    stored[name] = int(uow.get_state(name) or -1)
        if not stored:
            return list(batch)
        fresh, high = [], dict(stored)
        for item in batch:
            if item.offset is None or item.partition is None:
                fresh.append(item)
                continue
            name = keys.OFFSET.key(item.origin, item.partition)
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
        outcome = item.decoding()
        if isinstance(outcome, InvalidEvent):
            self._reject(uow, item, str(outcome), None, result)
            return None
        return outcome

    def _admit(self, run: _Run, item: RawEvent, event: Decoded, event_id: str) -> None:
        """Apply an event unless its id was recorded already: then it is a duplicate or a conflict."""
        first = run.seen.get(event_id)
        if first is None:
            digest = content_digest(event.envelope)
            refused = self.refusal(event, run.now(), datetime.now(timezone.utc), item.admitted)
            if refused is not None:
                self._reject(run.uow, item, refused, event_id, run.result)
                self._record(run, event.envelope, "REJECTED", digest, item.raw,
                             item.received_at or datetime.now(timezone.utc))
                return
            self._apply(run, item, event, digest, event_id, codes_checked=True)  # refusal() checked the codes
        elif same_content(first, item.raw, event.envelope):  # a copy's digest is made only if its text differs
            run.result.duplicates += 1
        else:
            self._conflict(run, item, event, first)

    def _apply(self, run: _Run, item: RawEvent, event: Decoded, digest: str, event_id: str | None = None,
               codes_checked: bool = False) -> None:
        uow, result = run.uow, run.result
        envelope = event.envelope
        event_id = event_id or str(envelope.event_id)
        seen_at = item.received_at or datetime.now(timezone.utc)
        ctx = Context(uow, envelope, self.rules, clock=run.now(), codes_checked=codes_checked)
        ctx.event_id = event_id  # (a cached property: str of a UUID is not free)
        try:
            HANDLERS[envelope.event_type](ctx, event.payload)
            reconcile_touched(ctx)  # the delivery team's claims decided again where the event changed their facts
            enforce_touched(ctx)    # a place the event made unsafe is removed or flagged at once
        except Parked as parked:
            since = parking.wait_since(parked.waiting_for, run.now(), envelope.occurred_at, item.arrival_clock,
                                       item.parked)
            uow.park(ParkedEvent(event_id, parked.waiting_for, envelope.occurred_at, item.raw, envelope.event_type,
                                 digest, item.origin, item.line_number, item.partition, item.offset, since, seen_at))
            if self.park_timeout is not None:
                run.deadline = min(filter(None, (run.deadline, since + self.park_timeout)))
            run.seen[event_id] = SeenCopy(event_id, "PARKED", digest, item.raw, seen_at, parked.waiting_for)
            result.parked += 1
            return
        except Stale as stale:
            self._record(run, envelope, "STALE", digest, item.raw, seen_at, event_id)
            log.info("ignored stale %s %s: %s", envelope.event_type, event_id, stale)
            result.stale += 1
            return
        except DomainError as exc:
            self._reject(uow, item, f"{envelope.event_type} rejected: {exc}", event_id, result)
            self._record(run, envelope, "REJECTED", digest, item.raw, seen_at, event_id)
            return
        self._record(run, envelope, "APPLIED", digest, item.raw, seen_at, event_id)
        result.applied += 1
        result.dirty_regions |= {r for r in ctx.dirty_regions if r}
        if result.clock is None or envelope.occurred_at > result.clock:
            result.clock = envelope.occurred_at
        self._release(run, item, ctx.unparked)

    @staticmethod
    def _record(run: _Run, envelope: Envelope, outcome: str, digest: str, raw: str, seen_at: datetime,
                event_id: str | None = None) -> None:
        event_id = event_id or str(envelope.event_id)
        run.uow.mark_processed(event_id, envelope.event_type, envelope.occurred_at, outcome, digest, raw, seen_at)
        run.seen[event_id] = SeenCopy(event_id, outcome, digest, raw, seen_at)

    def _release(self, run: _Run, item: RawEvent, waiting: Iterable[ParkedEvent]) -> None:
        """Apply the events an applied event released, each as the message it came in (its own position).

        One that had expired (a dead letter, kept dormant) is re-admitted: its expiry's dead letter and record
        are settled, and it is applied as if it had waited; should it have to wait again, for something else,
        its wait starts now (docs/events.md, "Parked events")."""
        for parked in waiting:
            if parked.expired_at is not None:  # its parked_at is None: should it wait again, it waits from now
                self._readmit(run, parked)
            message = original(parked, item.origin)
            run.result.unparked += 1
            outcome = message.decoding()
            if isinstance(outcome, InvalidEvent):  # accepted when parked, refused by this version
                self._reject(run.uow, message, str(outcome), parked.event_id, run.result)
                continue
            self._apply(run, message, outcome, digest_of(parked) or content_digest(outcome.envelope))

    @staticmethod
    def _readmit(run: _Run, parked: ParkedEvent) -> None:
        """An expired event comes back: its expiry forgotten, and, from a broker, the dead-letter topic told (the
        letter it was sent as names the same topic, partition and offset)."""
        run.uow.readmit(parked.event_id)
        run.result.readmitted += 1
        why = "what it waited for arrived after it had expired"
        log.info("re-admitted %s %s: %s (%s)", parked.event_type, parked.event_id, why, parked.waiting_for)
        if parked.partition is not None and parked.origin is not None:
            emit(run.uow, "event.readmitted", f"{parked.origin}:{parked.partition}", o.EventReadmitted(
                topic=parked.origin, partition=parked.partition, offset=parked.offset, event_id=parked.event_id,
                waited_for=parked.waiting_for, reason=why), datetime.now(timezone.utc),
                stable_id("readmitted", parked.origin, parked.partition, parked.offset,
                          parked.expired_at.isoformat()))

    def _conflict(self, run: _Run, item: RawEvent, event: Decoded, first: SeenCopy) -> None:
        """A copy of a recorded event id with other content: a dead letter naming both, never applied."""
        event_id = str(event.envelope.event_id)
        fields = ", ".join(differences(content_of_raw(first.raw), content(event.envelope))) or "nothing visible"
        when = f"{first.seen_at:%Y-%m-%d %H:%M:%S} UTC" if first.seen_at else "at an unrecorded time"
        outcome = first.outcome.lower() + (f" waiting for {first.waiting_for}" if first.waiting_for else "")
        reason = (f"{CONFLICT_REASON} {event_id} (first seen {when}, {outcome}): payload differs in {fields}; "
                  f"the first copy stands and this one is never applied. First copy: {first.raw}")
        self._reject(run.uow, item, reason, event_id, run.result)
        run.result.conflicts += 1

    def _expire(self, run: _Run, first: bool = False) -> None:
        """Dead-letter the events that have waited longer than the park timeout by the event clock.

        Checked after every event (an in-memory comparison until one is due), so an event expires as soon as
        the clock passes its limit, as it would with one event per batch: where batches end changes nothing."""
        if self.park_timeout is None:
            return
        if first:
            run.deadline = parking.deadline(run.uow, self.park_timeout)
        clock = run.now()
        if run.deadline is None or clock is None or clock <= run.deadline:
            return
        for parked in run.uow.expire_parked(clock - self.park_timeout, clock):
            self._expire_one(run, original(parked, "parked_events"), parked, clock)
        run.deadline = parking.deadline(run.uow, self.park_timeout)

    def _expire_one(self, run: _Run, item: RawEvent, parked: ParkedEvent, clock: datetime) -> None:
        # An expired event may come back and expire again: each expiry is its own message on the dead-letter topic.
        self._reject(run.uow, item, parking.expired_reason(parked, clock, self.park_timeout), parked.event_id,
                     run.result, ("expired", clock.isoformat()))
        run.seen[parked.event_id] = parking.record_expired(run.uow, parked)
        run.result.expired += 1

    @staticmethod
    def _reject(uow: UnitOfWork, item: RawEvent, reason: str, event_id: str | None,
                result: BatchResult, cause: tuple[str, ...] = ()) -> None:
        """A dead letter, and from a broker a message on the dead-letter topic, whose id is its offset's (and, for a
        letter an offset may get more than once, ``cause``'s)."""
        event_id = event_id or envelope_event_id(item)
        log.warning("dead letter from %s, event %s: %s", position(item), event_id or "(no valid id)",
                    _loggable(reason))
        now = datetime.now(timezone.utc)
        uow.dead_letter(DeadLetter(item.origin, reason, item.raw, item.line_number, item.partition,
                                   item.offset, event_id), now)
        if item.partition is not None:  # from a broker: the dead-letter topic too, once per offset
            emit(uow, "event.dead_lettered", f"{item.origin}:{item.partition}", o.DeadLettered(
                original=item.raw, topic=item.origin, partition=item.partition, offset=item.offset, reason=reason,
                original_base64=base64.b64encode(item.raw_bytes).decode() if item.raw_bytes is not None else None,
                event_id=event_id), now, stable_id("dead-letter", item.origin, item.partition, item.offset, *cause))
        result.dead_lettered += 1


def _loggable(reason: str) -> str:
    """A dead letter's reason for the log: ids and rule names only, never a copy of a message (which may
    carry personal data; the dead-letter table and topic keep it)."""
    return reason.split(" First copy: ", 1)[0][:500]


def event_clock(uow: UnitOfWork) -> datetime | None:
    value = uow.get_state(keys.CLOCK)
    return datetime.fromisoformat(value) if value else None


def applied_offsets(uow: UnitOfWork) -> dict[tuple[str, int], int]:
    """The highest applied offset per (topic, partition), as stored with the state."""
    out = {}
    for name, value in uow.states(keys.OFFSET.prefix).items():
        topic, partition = keys.OFFSET.parts(name)
        out[(topic, int(partition))] = int(value)
    return out


def dirty_regions(uow: UnitOfWork) -> list[str]:
    """Regions whose state changed since their last plan (marks survive restarts: they are rows)."""
    return sorted(keys.DIRTY.parts(name)[0] for name, value in uow.states(keys.DIRTY.prefix).items()
                  if value != "0")


def mark_dirty(uow: UnitOfWork, region: str) -> None:
    """Bump the region's dirty generation: state changed since its last plan."""
    uow.bump_state(keys.DIRTY.key(region))
