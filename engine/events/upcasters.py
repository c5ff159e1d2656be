"""``upcast_vN_to_vN1(payload) -> payload`` steps, registered in :data:`engine.events.decode.UPCASTERS`.

Each gets a copy of the old payload as sent (not yet validated) and returns the next version's payload; a
``KeyError``, ``TypeError`` or ``ValueError`` makes the event a dead letter naming the step.
"""
from __future__ import annotations

from typing import Any


def person_updated_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v2 adds ``limited_access``. A v1 producer knows nothing of it: the case's rule is kept (null). A v1
    payload that carries a rule anyway is refused rather than ignored as v1's unknown fields are: a
    restriction silently dropped would show the case to everyone (send it as schema_version 2)."""
    if not isinstance(payload, dict):
        raise TypeError(f"the payload is a {type(payload).__name__}, not an object")
    if payload.get("limited_access") is not None:
        raise ValueError("limited_access is read from schema_version 2 on; a v1 person.updated cannot "
                         "restrict or exclude (send it as schema_version 2)")
    return {**payload, "limited_access": None}
