"""Writing outbound events into the outbox, with ids stable across replays of the same input."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone

from pydantic import BaseModel

from engine.events.envelope import new_envelope
from engine.events.registry import topic_of
from engine.ports import UnitOfWork

MESSAGE_NAMESPACE = uuid.UUID("6f1c3c2e-8d0a-4c6b-9a57-2f7f3c1d9b10")


def stable_id(*parts: object) -> uuid.UUID:
    """Same cause, same message id: consumers deduplicate re-sent and replayed messages on it."""
    return uuid.uuid5(MESSAGE_NAMESPACE, "|".join(str(p) for p in parts))


def day_time(day: date) -> datetime:
    """When messages about a planning day are dated: 06:00 UTC that day (plans, the alerts that follow
    them, sweeps between plans), so a replay of the same input dates them the same way."""
    return datetime.combine(day, time(6, 0), tzinfo=timezone.utc)


def emit(uow: UnitOfWork, event_type: str, key: str, payload: BaseModel, occurred_at: datetime,
         message_id: uuid.UUID) -> None:
    envelope = new_envelope(event_type, key, payload, occurred_at, event_id=message_id)
    uow.emit(str(message_id), topic_of(event_type), key, event_type, envelope.model_dump_json(), occurred_at)
