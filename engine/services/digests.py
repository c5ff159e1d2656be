"""Content digests: what makes two copies of one event id the same event (docs/events.md, "Duplicates and
conflicts"). The ingest records the digest and the text of the copy of an id recorded first; a later copy is a
duplicate when :func:`same_content` says so, a conflict when not, and :func:`differences` names the fields that
differ for its dead letter.

A later copy with the same text as the first is the same event without a digest being made (a redelivery is
byte for byte the first copy); one with another text (other whitespace, key order or time offset, another
producer's layout, or other content) is compared by digest. A digest of the raw text instead of the canonical
content was not adopted: the stored digests are in the canonical state (which copy's content was recorded), and
another key order, 22.0 for 22 or a +01:00 offset would have become a conflict.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from engine.events.envelope import Envelope
from engine.ports import ParkedEvent, SeenCopy


def content(envelope: Envelope) -> dict[str, Any]:
    """The fields a copy is compared on: not ``event_id`` (the same by definition) nor ``source``."""
    return {"event_type": envelope.event_type, "schema_version": envelope.schema_version,
            "occurred_at": envelope.occurred_at.isoformat(), "key": envelope.key,
            "payload": _normal(envelope.payload)}


_AS_IS = frozenset({str, int, bool, type(None)})  # JSON scalars compared as they are (no call made for them)


def _normal(value: Any) -> Any:
    """JSON values as compared: key order and 22.0 versus 22 do not make a difference."""
    if isinstance(value, dict):
        return {str(k): v if type(v) in _AS_IS else _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _AS_IS else _normal(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def content_digest(envelope: Envelope) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of event_type, schema_version,
    occurred_at (as a UTC instant), key and payload."""
    return _digest(content(envelope))


# One encoder for every digest (json.dumps with options builds a new one per call).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(content: dict[str, Any]) -> str:
    text = _CANONICAL.encode(content)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_object(raw: str | None) -> dict | None:
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def content_of_raw(raw: str | None) -> dict[str, Any] | None:
    data = json_object(raw)
    if data is None:
        return None
    try:
        return content(Envelope.model_validate(data))
    except ValueError:  # valid when it was recorded; compare what can be read
        return {name: _normal(data.get(name)) for name in ("event_type", "schema_version", "occurred_at", "key",
                                                           "payload")}


def same_content(first: SeenCopy | ParkedEvent, raw: str, envelope: Envelope) -> bool:
    """Whether a copy (its text as received and its decoded envelope) holds the content of ``first``, the copy
    of its event id recorded first: the same text at once; else their content digests are compared."""
    if raw == first.raw:
        return True
    recorded = digest_of(first)
    return recorded is None or recorded == content_digest(envelope)


def digest_of(copy: SeenCopy | ParkedEvent) -> str | None:
    """The recorded copy's digest; rows parked before digests were kept have it computed from their text.
    None (processed before digests were kept): nothing to compare, so every later copy is a duplicate."""
    if copy.digest is not None or copy.raw is None:
        return copy.digest
    content = content_of_raw(copy.raw)
    return _digest(content) if content is not None else None


def differences(first: dict[str, Any] | None, second: dict[str, Any]) -> list[str]:
    """The fields two copies' contents differ in: envelope fields by name, payload fields as ``payload.x``."""
    if first is None:
        return ["(the first copy's text was not kept)"]
    out = [name for name in ("event_type", "schema_version", "occurred_at", "key") if first.get(name) != second[name]]
    a, b = first.get("payload"), second["payload"]
    a = a if isinstance(a, dict) else {}
    missing = object()
    return out + [f"payload.{name}" for name in sorted(set(a) | set(b)) if a.get(name, missing) != b.get(name, missing)]
