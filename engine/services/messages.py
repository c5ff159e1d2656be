"""One inbound message as the ingest receives it: its text, where it came from (a file line, or a topic
partition offset), and what is already known of it (parsed, decoded, the clock when it arrived), so that
nothing is parsed or validated twice on its way in (:mod:`engine.services.ingest` applies it)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from engine.events.decode import MAX_MESSAGE_SIZE, Decoded, InvalidEvent, decode
from engine.ports import ParkedEvent
from engine.services.digests import json_object


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
    decoded: Decoded | InvalidEvent | None = field(default=None, compare=False, repr=False)  # if done already
    received_at: datetime | None = field(default=None, compare=False, repr=False)  # server clock; None: now
    # The event clock when it arrived, if the ingest's may be behind it (a replayed file is applied in event-time
    # order, so a message dated far behind comes first, before any clock): a parked event waits from no earlier.
    arrival_clock: datetime | None = field(default=None, compare=False, repr=False)
    # The parked row it was released from: parked again for the same thing, it keeps waiting from then.
    parked: ParkedEvent | None = field(default=None, compare=False, repr=False)
    # The rules of the message alone (engine/services/admission.py) found nothing when it was decoded: the
    # replay asks twice before it is applied, and they cannot change.
    admitted: bool = field(default=False, compare=False, repr=False)

    def decoding(self) -> Decoded | InvalidEvent:
        """The message decoded, or why it cannot be: what the consumer found if it decoded it already."""
        return self.decoded if self.decoded is not None else decode_or_error(self.raw, self.parsed)


def position(item: RawEvent) -> str:
    """Where a message came from, for a log line: topic, partition and offset, or file and line."""
    if item.partition is not None:
        return f"{item.origin} partition {item.partition} offset {item.offset}"
    return f"{item.origin} line {item.line_number}" if item.line_number is not None else item.origin


def envelope_event_id(item: RawEvent) -> str | None:
    """The message's ``event_id`` when its envelope carried a valid one (a UUID), even if the rest is invalid;
    None for a message too large to read or not a JSON object."""
    if len(item.raw) > MAX_MESSAGE_SIZE:
        return None
    data = item.parsed if item.parsed is not None else json_object(item.raw)
    value = data.get("event_id") if isinstance(data, dict) else None
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def original(parked: ParkedEvent, origin: str) -> RawEvent:
    """The message a parked event came in, at its own position (``origin`` for rows parked before positions
    were kept)."""
    return RawEvent(parked.raw, parked.origin or origin, parked.line_number, parked.partition, parked.offset,
                    received_at=parked.seen_at, parked=parked)


def decode_or_error(raw: str, parsed: dict | None) -> Decoded | InvalidEvent:
    """A message's text decoded, or why it cannot be (the stream consumer does it once, before merging, and passes
    the outcome along in :attr:`RawEvent.decoded`)."""
    try:
        return decode(raw, parsed)
    except InvalidEvent as exc:
        return exc
