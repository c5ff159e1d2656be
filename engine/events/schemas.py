"""JSON Schema export: one file per event type (envelope with its typed payload), plus the envelope."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.events.envelope import Envelope
from engine.events.registry import EVENTS, EventSpec

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def payload_schema(spec: EventSpec) -> dict[str, Any]:
    schema = spec.model.model_json_schema(mode="validation" if spec.inbound else "serialization")
    schema["title"] = f"{spec.event_type} v{spec.version} payload"
    return schema


def event_schema(spec: EventSpec) -> dict[str, Any]:
    """The envelope with ``event_type``/``schema_version`` fixed and ``payload`` typed."""
    envelope = Envelope.model_json_schema()
    payload = payload_schema(spec)
    defs = {**envelope.pop("$defs", {}), **payload.pop("$defs", {})}
    envelope["properties"]["event_type"] = {"const": spec.event_type, "type": "string"}
    envelope["properties"]["schema_version"] = {"const": spec.version, "type": "integer"}
    envelope["properties"]["payload"] = payload
    envelope.update({"$schema": SCHEMA_DIALECT, "$id": f"urn:cohortplan:event:{spec.event_type}:v{spec.version}",
                     "title": f"{spec.event_type} v{spec.version}", "x-topic": spec.topic})
    if defs:
        envelope["$defs"] = defs
    return envelope


def all_schemas() -> dict[str, dict[str, Any]]:
    out = {f"{name}.v{spec.version}.json": event_schema(spec) for name, spec in sorted(EVENTS.items())}
    out["envelope.json"] = {"$schema": SCHEMA_DIALECT, **Envelope.model_json_schema()}
    return out


def export_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = directory / name
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
