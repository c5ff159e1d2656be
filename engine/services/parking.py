"""Parked events: when one starts waiting, and what becomes of one that waited too long (docs/events.md,
"Parked events"). The ingest (:mod:`engine.services.ingest`) parks and releases; these are its rules.

An event waits under what it refers to (``requirement:RQ1``, ``referral:REF9``, …) or, for a referral's status
change that is not valid yet, under ``status:<referral_id>``: an earlier status change of that referral
(docs/events.md, "Status changes out of order"); an attendance of a member the delivery team named whose place
does not hold yet, under ``member:<referral_id>``: the facts that make the place lawful.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from engine.handlers.context import MEMBER_WAIT, STATUS_WAIT
from engine.ports import EXPIRED, EXPIRED_REASON, ParkedEvent, SeenCopy, UnitOfWork
from engine.services.digests import digest_of, json_object

DEFAULT_PARK_TIMEOUT = timedelta(hours=168)
# what a referral's own waits wait for, in the words of an expiry (the waits: engine/handlers/context.py)
_WAITS = {STATUS_WAIT: "an earlier status change of referral {}",
          MEMBER_WAIT: "a place for referral {} on the cohort its attendance names: the confirmation's claim is "
                       "refused, see the confirmation.member_refused alert"}


def wait_since(waiting_for: str, clock: datetime | None, occurred_at: datetime, arrival_clock: datetime | None,
               before: ParkedEvent | None = None) -> datetime:
    """The event time an event starts waiting: the latest of the clock, its own time and the clock when it
    arrived; one released and parked again for the same thing (``before``) waits on from when it first did."""
    if before is not None and before.waiting_for == waiting_for and before.parked_at is not None:
        return before.parked_at
    return max(filter(None, (clock, occurred_at, arrival_clock)))


def deadline(uow: UnitOfWork, timeout: timedelta) -> datetime | None:
    """The earliest event time a parked event expires; None when nothing waits."""
    earliest = uow.earliest_parked()
    return earliest + timeout if earliest is not None else None


def expired_reason(parked: ParkedEvent, clock: datetime, timeout: timedelta) -> str:
    hours = int((clock - (parked.parked_at or parked.occurred_at)) / timedelta(hours=1))
    limit = int(timeout / timedelta(hours=1))
    what = parked.waiting_for
    for prefix, text in _WAITS.items():
        if what.startswith(prefix):
            what += f" ({text.format(what[len(prefix):])})"
    return f"{EXPIRED_REASON}: waited {hours} h for {what}, which never arrived (the limit is {limit} h of event time)"


def record_expired(uow: UnitOfWork, parked: ParkedEvent) -> SeenCopy:
    """Record the id of an expired event as ``EXPIRED``: a later copy is a duplicate (or a conflict)."""
    event_type = parked.event_type or str((json_object(parked.raw) or {}).get("event_type", ""))
    digest = digest_of(parked)
    uow.mark_processed(parked.event_id, event_type, parked.occurred_at, EXPIRED, digest, parked.raw, parked.seen_at)
    return SeenCopy(parked.event_id, EXPIRED, digest, parked.raw, parked.seen_at)
