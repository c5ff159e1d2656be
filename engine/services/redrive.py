"""Redrive dead letters: each is read again with today's schemas (:mod:`engine.events.decode`, upcasters
included) and handed to the normal idempotent intake (:class:`engine.services.ingest.Ingestor`) as the
message it was, from where it came (origin and line; not its broker offset, which the intake has passed).

What the intake accepts (applied, parked for what it waits for, or stale) leaves the dead letters; what it
refuses again stays, with the same id and source position and the new reason. A letter whose event id the
intake has recorded already is removed when that copy was applied, else kept, saying so (an event id is
applied once). Redrives run one at a time in a process; each letter is its own transaction, and a letter
interrupted half-way is found again by the next redrive (the intake does not apply an event id twice).
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.events.decode import InvalidEvent
from engine.ports import EXPIRED
from engine.services.ingest import Ingestor, RawEvent

APPLIED, PARKED, STALE, ALREADY_APPLIED, STILL_INVALID = "applied", "parked", "stale", "already_applied", \
    "still_invalid"
MAX_PER_CALL = 500


class DeadLetters(Protocol):
    def letters(self, ids: list[int] | None = None, origin: str | None = None, reason_contains: str | None = None,
                limit: int = MAX_PER_CALL) -> tuple[int, list[dict[str, Any]]]: ...
    def last_id(self) -> int: ...
    def newer(self, raw: str, after_id: int) -> list[dict[str, Any]]: ...
    def settle(self, letter_id: int, reason: str | None, duplicates: list[int]) -> None: ...
    def processed_outcome(self, event_id: str) -> str | None: ...


@dataclass
class Redriven:
    matched: int = 0                  # letters the selection matched (at most MAX_PER_CALL are redriven per call)
    outcomes: Counter = field(default_factory=Counter)
    items: list[dict[str, Any]] = field(default_factory=list)  # id, outcome, reason (the new one, if still invalid)

    @property
    def redriven(self) -> int:
        return len(self.items)

    @property
    def accepted(self) -> int:
        return self.redriven - self.outcomes[STILL_INVALID]


_one_at_a_time = threading.Lock()


def redrive(ingestor: Ingestor, store: DeadLetters, ids: list[int] | None = None, origin: str | None = None,
            reason_contains: str | None = None, limit: int = MAX_PER_CALL) -> Redriven:
    """Redrive the dead letters selected (by id, origin, words of the reason; all when none given)."""
    with _one_at_a_time:
        matched, letters = store.letters(ids, origin, reason_contains, limit)
        done = Redriven(matched)
        for letter in letters:
            outcome, reason = _redrive_one(ingestor, store, letter)
            done.outcomes[outcome] += 1
            done.items.append({"id": letter["id"], "outcome": outcome, "reason": reason})
        return done


def _redrive_one(ingestor: Ingestor, store: DeadLetters, letter: dict[str, Any]) -> tuple[str, str | None]:
    item = RawEvent(raw=letter["raw"], origin=letter["origin"], line_number=letter["line_number"])
    decoded = item.decoding()  # with today's schemas
    if isinstance(decoded, InvalidEvent):  # still unreadable: the intake would only say so again
        store.settle(letter["id"], str(decoded), [])
        return STILL_INVALID, str(decoded)
    before = store.last_id()
    result = ingestor.process([RawEvent(raw=item.raw, origin=item.origin, line_number=item.line_number,
                                        decoded=decoded)])
    again = store.newer(item.raw, before)
    if again:
        reason = again[-1]["reason"]
        store.settle(letter["id"], reason, [row["id"] for row in again])
        return STILL_INVALID, reason
    if result.duplicates:
        event_id = str(decoded.envelope.event_id)
        first = store.processed_outcome(event_id)
        if first == EXPIRED:  # kept beside this letter, which stays as it is: the re-admission removes it
            return STILL_INVALID, (f"redriven: event {event_id} expired and is kept; it is re-admitted (and this "
                                   "letter removed) when what it waited for arrives")
        if first not in ("APPLIED", "STALE"):
            reason = f"redriven: event {event_id} was processed already ({(first or 'parked').lower()}); the " \
                     "intake applies an event id once"
            store.settle(letter["id"], reason, [])
            return STILL_INVALID, reason
        store.settle(letter["id"], None, [])
        return ALREADY_APPLIED, None
    store.settle(letter["id"], None, [])
    return (PARKED if result.parked else STALE if result.stale else APPLIED), None
