"""The one envelope every message carries, inbound and outbound (DESIGN §3), and the string, number and
date types every field on the wire is built from.

Every string on the wire has a maximum length and no control characters (U+0000–U+001F, U+007F:
PostgreSQL text cannot hold NUL, and none is needed anywhere); booleans and numbers are strict (``"yes"``,
``"0"`` and ``1`` are not booleans, ``"22"`` and ``true`` are not numbers); dates are ISO strings. The
limits are documented in docs/events.md ("Limits") and exported in the JSON Schemas.

The envelope keeps fields it does not know (a producer's trace id, say) instead of refusing the message, within
bounds: at most ``EXTENSIONS_MAX`` of them, each named like a field and holding a JSON scalar
(docs/events.md, "Evolving the events"). They are in ``Envelope.model_extra`` and in any re-serialised copy.
"""
from __future__ import annotations

import math
import re
import uuid
from datetime import date, datetime, timezone
from typing import Annotated, Any

from pydantic import (AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StringConstraints,
                      WithJsonSchema, field_validator, model_validator)
from pydantic_core import PydanticCustomError

__all__ = ["Code", "Crn", "Day", "Envelope", "Id", "Instant", "Key", "Label", "Number", "OutboundPayload", "Payload",
           "Source", "Text", "new_envelope", "no_control_characters", "text"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NO_CONTROL = r"^[^\x00-\x1F\x7F]*$"  # the same rule, exported in the JSON Schemas


def no_control_characters(value: Any) -> Any:
    """Refuse a string holding a control character, saying which and where (the location names the field)."""
    if isinstance(value, str):
        found = _CONTROL.search(value)
        if found is not None:
            raise PydanticCustomError("control_character", "must not contain control characters (found U+%04X at "
                                      "position %d)" % (ord(found.group()), found.start()))
    return value


def text(max_length: int, min_length: int = 0, pattern: str = NO_CONTROL) -> Any:
    """A strict string of at most ``max_length`` characters without control characters."""
    return Annotated[str, StringConstraints(strict=True, min_length=min_length, max_length=max_length,
                                            pattern=pattern), BeforeValidator(no_control_characters)]


def _iso_date_only(value: Any) -> Any:
    """Dates travel as ISO strings: a number is not read as a Unix time."""
    if isinstance(value, (str, date)):
        return value
    raise PydanticCustomError("date_type", "Input should be an ISO 8601 date string (YYYY-MM-DD)")


def _iso_datetime_only(value: Any) -> Any:
    if isinstance(value, (str, datetime)):
        return value
    raise PydanticCustomError("datetime_type", "Input should be an ISO 8601 date-time string with a timezone")


ID_MAX, CODE_MAX, TEXT_MAX, LABEL_MAX = 64, 32, 500, 64
SOURCE_MAX, KEY_MAX, EVENT_TYPE_MAX = 64, 100, 64

Id = text(ID_MAX, 1, r"^[A-Za-z0-9._:-]+$")  # identifiers from the source systems: sentence, referral, cohort ids
Code = text(CODE_MAX, 1, r"^[A-Z0-9][A-Z0-9_-]*$")  # reference codes: programme, region, PDU, office, source
Crn = text(16, 1, r"^[A-Z0-9]+$")  # case reference number
Text = text(TEXT_MAX)  # free text: reasons
Label = text(LABEL_MAX, 1)  # a short name or label, e.g. a status as its name, label or nDelius code
Source = text(SOURCE_MAX, 1)  # the producing system, e.g. ndelius
Key = text(KEY_MAX, 1)  # the partition key: a crn, a region code
Number = Annotated[float, Field(strict=True)]  # a JSON number (22 or 22.5); not "22", not true
Day = Annotated[date, BeforeValidator(_iso_date_only)]
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_only)]


# Unknown envelope fields: how many are kept, what they may be called, and what they may hold (a scalar, as
# CloudEvents extension attributes: anything structured belongs in the payload or a new schema version).
EXTENSIONS_MAX, EXTENSION_NAME = 16, r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"


def _scalar(value: Any) -> Any:
    """One message for any value an unknown envelope field may not hold (not one per JSON type it is not)."""
    if value is None or isinstance(value, (bool, int)) or isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str) and len(value) <= TEXT_MAX:
        return no_control_characters(value)
    raise PydanticCustomError("extension_value", "an unknown envelope field holds a string of at most %d characters, "
                              "a finite number, true, false or null" % TEXT_MAX)


Extension = Annotated[Any, BeforeValidator(_scalar), WithJsonSchema({"anyOf": [
    {"type": "string", "maxLength": TEXT_MAX, "pattern": NO_CONTROL}, {"type": "number"}, {"type": "boolean"},
    {"type": "null"}]})]


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", json_schema_extra=lambda schema: schema.update(
        maxProperties=len(schema["properties"]) + EXTENSIONS_MAX, propertyNames={"pattern": EXTENSION_NAME}))
    __pydantic_extra__: dict[str, Extension] = Field(init=False)  # unknown fields, kept

    event_id: uuid.UUID
    event_type: str = Field(min_length=1, max_length=EVENT_TYPE_MAX, pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    schema_version: StrictInt = Field(ge=1)
    occurred_at: Instant
    source: Source
    key: Key
    payload: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _bounded_extensions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [name for name in data if name not in _ENVELOPE_FIELDS]
            if len(unknown) > EXTENSIONS_MAX:
                raise PydanticCustomError("too_many_extensions", "at most %d unknown envelope fields are kept, got %d"
                                          % (EXTENSIONS_MAX, len(unknown)))
            for name in unknown:
                if not isinstance(name, str) or not re.fullmatch(EXTENSION_NAME, name):
                    shown = repr(name[:64]) + ("…" if len(name) > 64 else "")  # repr: no control character
                    raise PydanticCustomError("extension_name", "unknown envelope field %s: a name is 1-64 letters, "
                                              "digits, '_', '.' or '-' starting with a letter" % shown)
        return data

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc)


# The envelope's own field names, read once: pydantic builds ``model_fields`` afresh on every access, which
# cost more than the rest of the check on every message.
_ENVELOPE_FIELDS = frozenset(Envelope.model_fields)


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
