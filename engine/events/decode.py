"""Raw bytes → validated (envelope, payload), or an :class:`InvalidEvent` that says exactly why."""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from engine.events import upcasters
from engine.events.envelope import Envelope
from engine.events.registry import INBOUND, REFERRALS, SENTENCES

# (event_type, from_version) -> ``upcast_vN_to_vN1(payload) -> payload``, lifting a payload one version up.
# Registering a v2 in engine/events/registry.py needs the step from v1 here (docs/events.md, "Evolving the
# events"; tests/unit/events/test_evolution.py checks the chain is complete). The steps: engine/events/upcasters.py.
UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("person.updated", 1): upcasters.person_updated_v1_to_v2,
}

# The largest message accepted, in characters of its text (bytes when it arrives as bytes). The longest valid
# event is a few kilobytes; every field has its own limit (docs/events.md, "Limits"), this one bounds the
# parser and the fields a payload ignores.
MAX_MESSAGE_SIZE = 256 * 1024


class InvalidEvent(ValueError):
    """A message that can never be applied: it goes to the dead letters with this reason."""


@dataclass(frozen=True)
class Decoded:
    envelope: Envelope
    payload: BaseModel


def _short(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:4]:
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_json(raw: bytes | str) -> dict[str, Any]:
    check_size(raw)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"bad JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidEvent(f"bad JSON: expected an object, got {type(data).__name__}")
    return data


def check_size(raw: bytes | str) -> None:
    if len(raw) > MAX_MESSAGE_SIZE:
        unit = "bytes" if isinstance(raw, bytes) else "characters"
        raise InvalidEvent(f"message too large: {len(raw):,} {unit}, the limit is {MAX_MESSAGE_SIZE:,}")


def upcast(event_type: str, version: int, payload: dict[str, Any], target: int) -> dict[str, Any]:
    """The payload lifted one version at a time to ``target``. Steps get a copy: the envelope keeps the payload
    as sent (the content digest is of that). A step that cannot read an old payload makes it a dead letter."""
    if version < target:
        payload = copy.deepcopy(payload)
    while version < target:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise InvalidEvent(f"{event_type} schema_version {version} has no upcaster to {target}")
        try:
            payload = step(payload)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidEvent(f"invalid {event_type} payload: cannot upcast it from schema_version {version} to "
                               f"{version + 1}: {type(exc).__name__}: {_printable(str(exc)[:200])}") from None
        version += 1
    return payload


def _printable(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]", "?", text)  # a reason is stored as text: PostgreSQL holds no NUL


def decode(raw: bytes | str, data: dict[str, Any] | None = None) -> Decoded:
    """Validate one message; ``data`` is its already-parsed JSON when the caller has it."""
    if data is None:
        data = parse_json(raw)
    else:
        check_size(raw)
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid envelope: {_short(exc)}") from None
    spec = INBOUND.get(envelope.event_type)
    if spec is None:
        raise InvalidEvent(f"unknown event_type {envelope.event_type!r}")
    if envelope.schema_version > spec.version:
        raise InvalidEvent(f"{envelope.event_type} schema_version {envelope.schema_version} is newer "
                           f"than supported {spec.version}")
    body = upcast(envelope.event_type, envelope.schema_version, envelope.payload, spec.version)
    try:
        payload = spec.model.model_validate(body)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid {envelope.event_type} payload: {_short(exc)}") from None
    _check_key(envelope, spec.topic, payload)
    return Decoded(envelope, payload)


# Topics keyed by crn: the key decides the partition, so the order in which a person's events are seen.
CRN_KEYED = frozenset({SENTENCES, REFERRALS})


def _check_key(envelope: Envelope, topic: str, payload: BaseModel) -> None:
    """On a crn-keyed topic the key must be the payload's crn (for a merge, the target crn)."""
    if topic not in CRN_KEYED:
        return
    field = "target_crn" if envelope.event_type == "case.merged" else "crn"
    expected = getattr(payload, field, None)
    if expected is not None and envelope.key != expected:
        raise InvalidEvent(f"{envelope.event_type}: key {envelope.key!r} is not the payload's {field} {expected!r}; "
                           f"{topic} is keyed by crn, so a person's events stay in order on one partition")
