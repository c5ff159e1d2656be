"""The one envelope every message carries, inbound and outbound (DESIGN §3)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    event_type: str = Field(min_length=1, pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    source: str = Field(min_length=1)
    key: str = Field(min_length=1)
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc)


class Payload(BaseModel):
    """Base of every payload: immutable; inbound payloads ignore fields they do not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class OutboundPayload(BaseModel):
    """Outbound payloads are built from typed code, so unknown fields are a bug."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def new_envelope(event_type: str, key: str, payload: BaseModel, occurred_at: datetime,
                 source: str = "cohortplan", schema_version: int = 1,
                 event_id: uuid.UUID | None = None) -> Envelope:
    return Envelope(event_id=event_id or uuid.uuid4(), event_type=event_type,
                    schema_version=schema_version, occurred_at=occurred_at, source=source, key=key,
                    payload=payload.model_dump(mode="json"))
