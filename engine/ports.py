"""Ports the handlers and services depend on; persistence provides the SQL implementation.

Kept abstract so the engine's rules are testable without a database, and so the composition root
(:mod:`engine.bootstrap`) is the only place that picks the adapter.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Generic, Iterable, TypeVar

from engine.domain.access import LimitedAccess
from engine.domain.model import (Allocation, Cohort, Facilitator, Office, Person, PlanRecord, Referral,
                                 Requirement, Sentence)

T = TypeVar("T")


class Repository(ABC, Generic[T]):
    """Aggregates by primary key; changes to loaded entities are saved on commit."""

    @abstractmethod
    def get(self, key: str) -> T | None: ...

    @abstractmethod
    def add(self, entity: T) -> T: ...

    @abstractmethod
    def remove(self, key: str) -> None: ...

    @abstractmethod
    def where(self, **equals: Any) -> list[T]:
        """Entities whose columns equal the given values (IN for list/tuple/set values)."""


@dataclass(frozen=True)
class DeadLetter:
    origin: str
    reason: str
    raw: str
    line_number: int | None = None
    partition: int | None = None
    offset: int | None = None
    event_id: str | None = None


# How the ingest words the dead letters that are not about a message's own content, so the read side
# (the dead-letter alert's origins) can tell them apart from bad input.
CONFLICT_REASON = "conflicting duplicate of event"
EXPIRED_REASON = "parked event expired"
EXPIRED = "EXPIRED"  # the processed outcome of an event that waited past the park timeout (until re-admitted)


@dataclass(frozen=True)
class ParkedEvent:
    """An event waiting for something not seen yet, with where it came from (its source position)."""

    event_id: str
    waiting_for: str
    occurred_at: datetime
    raw: str
    event_type: str | None = None
    digest: str | None = None  # sha256 of its content (see engine.services.digests.content_digest)
    origin: str | None = None  # file path or topic; None for events parked before positions were kept
    line_number: int | None = None
    partition: int | None = None
    offset: int | None = None
    parked_at: datetime | None = None  # event time (the ingest's clock) when it started waiting
    seen_at: datetime | None = None  # server clock when it was received
    expired_at: datetime | None = None  # event time it expired into a dead letter; kept, dormant (parked_at None
    # in the store), until what it waited for arrives (then re-admitted: docs/events.md, "Parked events")


@dataclass(frozen=True)
class SeenCopy:
    """The copy of an event id recorded first: processed (applied, stale, rejected, expired) or parked."""

    event_id: str
    outcome: str  # APPLIED | STALE | REJECTED | EXPIRED | PARKED
    digest: str | None = None  # None: recorded before digests were kept (compares equal to anything)
    raw: str | None = None
    seen_at: datetime | None = None
    waiting_for: str | None = None  # parked copies


@dataclass(frozen=True)
class Attendance:
    referral_id: str
    cohort_id: str
    session_number: int
    session_date: Any
    outcome: str


class UnitOfWork(ABC):
    people: Repository[Person]
    sentences: Repository[Sentence]
    requirements: Repository[Requirement]
    referrals: Repository[Referral]
    cohorts: Repository[Cohort]
    facilitators: Repository[Facilitator]
    allocations: Repository[Allocation]

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    def prefetch(self, keys: dict[str, set[str]]) -> None:
        """Optional hint: the ids a batch will touch (crn, sentence_id, requirement_id, referral_id…)."""

    def read_states(self, names: Iterable[str]) -> None:
        """Optional hint: engine state values this unit of work is about to read, so that :meth:`get_state` may
        answer them from one query instead of one each."""

    def lock_writes(self) -> None:
        """Serialise state-changing transactions across processes (several workers, one database).

        Called first in every transaction that reads state to change it (ingest, plan publish), so
        what it reads is what it changes. A no-op where the store has a single writer anyway.
        """

    def try_lock(self, name: str) -> bool:
        """A transaction-scoped named lock, without waiting: False when another process holds it."""
        return True

    def unsent_outbox(self, limit: int) -> list[dict]:
        """Outbox rows not yet acknowledged by the broker, oldest first."""
        raise NotImplementedError

    def mark_sent(self, ids: list[int], sent_at: datetime) -> None:
        raise NotImplementedError

    def outbox_after(self, after_id: int, topics: Iterable[str], limit: int) -> list[dict]:
        """Outbox rows on ``topics`` with an id above ``after_id``, oldest first (whether or not the broker
        has them): what an outbox reader with its own cursor reads next. Each row has ``id``,
        ``message_id``, ``topic``, ``key``, ``event_type`` and ``message`` (the envelope's JSON text)."""
        raise NotImplementedError

    # idempotency, parking, outbox, dead letters ---------------------------------------------
    @abstractmethod
    def seen_copies(self, event_ids: Iterable[str]) -> dict[str, SeenCopy]:
        """The recorded copy of each of these ids that was processed (including this unit of work's
        queued records) or is parked, by id; ids never seen are absent."""

    @abstractmethod
    def mark_processed(self, event_id: str, event_type: str, occurred_at: datetime, outcome: str,
                       digest: str | None = None, raw: str | None = None,
                       seen_at: datetime | None = None) -> None:
        """Record an event id as done, with the digest and text of the copy that was processed."""

    @abstractmethod
    def park(self, event: ParkedEvent) -> None:
        """Keep an event until ``event.waiting_for`` arrives; parking an id already parked keeps the first."""

    @abstractmethod
    def unpark(self, waiting_for: str) -> list[ParkedEvent]:
        """Remove and return (in occurrence order) the events waiting for this key, the expired (dormant) ones
        included: they carry their ``expired_at``."""

    @abstractmethod
    def expire_parked(self, parked_before: datetime, clock: datetime) -> list[ParkedEvent]:
        """The events waiting that were parked (``parked_at``, event time) before this instant, oldest first,
        now kept dormant with ``expired_at`` = ``clock``: they no longer wait (``earliest_parked``), but
        ``unpark`` still returns them when what they waited for arrives."""

    @abstractmethod
    def earliest_parked(self) -> datetime | None:
        """The earliest ``parked_at`` (event time) of the events waiting now (not the dormant); None when none is."""

    @abstractmethod
    def readmit(self, event_id: str) -> None:
        """An expired event is being applied after all: forget its ``EXPIRED`` record and its expiry's dead
        letters (written before or in this unit of work), so that it is recorded again as what it becomes."""

    @abstractmethod
    def emit(self, message_id: str, topic: str, key: str, event_type: str, message: str,
             created_at: datetime) -> None: ...

    @abstractmethod
    def dead_letter(self, letter: DeadLetter, received_at: datetime) -> None: ...

    @abstractmethod
    def record_attendance(self, record: Attendance) -> bool:
        """False when this session was already recorded for the referral."""

    def attendance_of(self, referral_ids: Iterable[str], outcomes: Iterable[str] | None = None) -> list[Attendance]:
        """Attendance of many referrals at once (optionally only some outcomes), by date."""
        raise NotImplementedError

    def referral_facts(self, region_code: str, statuses: Iterable[str]) -> list[dict]:
        """Plain rows for the referrals of a region's people in these statuses, after writing out this
        unit of work's changes: referral_id, crn, programme_code, status, referred_on, risk_band,
        cohort_id, pdu_code, requirement_end, sentence_end and deadline (None without a sentence), pinned
        (held place pinned), status_since (when the current status was entered; None if no history)."""
        raise NotImplementedError

    def dead_letters_since(self, since: datetime) -> list[tuple[datetime, str]]:
        """(received_at, origin) of every event rejected to dead letters at or after ``since``; the origin of
        a conflicting duplicate or an expired parked event says so (``topic (conflicting duplicate)``)."""
        raise NotImplementedError

    # planning ---------------------------------------------------------------------------------
    @abstractmethod
    def offices(self, region_code: str) -> list[Office]: ...

    @abstractmethod
    def save_offices(self, region_code: str, offices: Iterable[Office]) -> None: ...

    @abstractmethod
    def next_plan_version(self) -> int: ...

    @abstractmethod
    def save_plan(self, record: PlanRecord) -> None: ...

    @abstractmethod
    def active_alerts(self, region_code: str, kinds: Iterable[str] | None = None) -> dict[str, dict]:
        """Raised and not cleared alerts in a region (of the given kinds), by alert id."""

    @abstractmethod
    def raise_alert(self, alert: dict) -> None:
        """Store an open alert (insert, or update it in place when its id is already open)."""

    @abstractmethod
    def clear_alert(self, alert_id: str) -> None: ...

    @abstractmethod
    def set_alert_workflow(self, alert_id: str, workflow_state: str, assigned_to: str | None,
                           snoozed_until: date | None) -> None:
        """Set an open alert's workflow columns (engine/alerts/workflow.py); its rule columns stay."""

    @abstractmethod
    def record_alert_action(self, action: dict) -> None:
        """Append one row to an alert's history of what people did (alert_actions)."""

    @abstractmethod
    def alert_actions(self, alert_id: str) -> list[dict]:
        """What people did to an alert (every occurrence of its id), oldest first."""

    @abstractmethod
    def add_override(self, row: dict) -> None:
        """Store a planner override (a row of ``planner_overrides``, engine/services/overrides.py)."""

    @abstractmethod
    def remove_override(self, override_id: str, removed_by: str, removed_at: datetime) -> None:
        """Mark an override removed (its row stays, with who removed it and when)."""

    @abstractmethod
    def overrides(self, region_code: str | None = None, removed: bool = False) -> list[dict]:
        """The overrides of a region (every region's when None) in id order; removed ones only if ``removed``."""

    @abstractmethod
    def set_access(self, rule: LimitedAccess, updated_at: datetime, event_id: str) -> None:
        """Store the limited-access rule of ``rule.crn`` (person_access), replacing any before it."""

    @abstractmethod
    def access_rules(self, crns: Iterable[str] | None = None) -> dict[str, tuple[LimitedAccess, datetime | None]]:
        """The stored rules of ``crns`` (of every crn that has one when None) with their event times, by crn."""

    @abstractmethod
    def record_read(self, read: dict) -> None:
        """Append one row to the audit of reads (audit_reads: at, actor, route, params, crns, referral_ids).
        There is no way to change or remove one."""

    @abstractmethod
    def reads_of(self, crn: str, referral_ids: Iterable[str] = ()) -> list[dict]:
        """The audited reads that showed ``crn`` or one of ``referral_ids``, oldest first."""

    @abstractmethod
    def people_naming(self, crn: str) -> list:
        """People whose non-associations name ``crn`` (a merge moves them to the target crn)."""

    @abstractmethod
    def get_state(self, name: str) -> str | None: ...

    @abstractmethod
    def set_state(self, name: str, value: str) -> None: ...

    def set_state_later(self, name: str, value: Callable[[], str]) -> None:
        """Set ``name`` to what ``value()`` returns when the value is written or read: a value set again and again
        in a unit of work (a log serialised after each event) is made once. The last set wins, as with
        :meth:`set_state`; ``value`` must not depend on anything changed after it is set. Eager here."""
        self.set_state(name, value())

    def bump_state(self, name: str) -> int:
        """Add one to a counter kept in the state table (absent counts as 0); the new value."""
        value = int(self.get_state(name) or 0) + 1
        self.set_state(name, str(value))
        return value

    def states(self, prefix: str) -> dict[str, str]:
        """Engine state values whose name starts with ``prefix``, by name."""
        raise NotImplementedError
