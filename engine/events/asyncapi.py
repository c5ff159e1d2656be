"""The AsyncAPI 3.0 document for every topic cohortplan reads or writes (DESIGN §3).

Each payload is the exported JSON Schema of its event type (``schemas.event_schema``) with its local
``#/$defs/…`` references inlined: AsyncAPI tools resolve ``#/…`` against the whole document, not the embedded
schema's ``$id``, so the refs would dangle. It is wrapped in a multi-format schema object because it is draft
2020-12, not AsyncAPI's default dialect. The contract tests check the committed ``docs/asyncapi.json`` against
this builder and against the exported schema files.
"""
from __future__ import annotations

from typing import Any

from engine.events import registry as r
from engine.events.envelope import Envelope
from engine.events.registry import EVENTS, EventSpec
from engine.events.schemas import SCHEMA_DIALECT, event_schema

ASYNCAPI_VERSION = "3.0.0"
DOC_VERSION = "1.0.0"
SCHEMA_FORMAT = "application/schema+json;version=2020-12"
KAFKA_BINDING = "0.5.0"

DESCRIPTION = """\
Events cohortplan consumes from probation case management, referrals and programme delivery, and the \
decisions, alerts, reports and dead letters it publishes.

Every message is one JSON envelope (event_id, event_type, schema_version, occurred_at, source, key, payload).

Delivery guarantees:
- At-least-once in both directions: consumers must be idempotent on `event_id`. cohortplan records every \
event_id it has processed and skips repeats; its own outbound event_ids are stable (UUIDv5 of the cause), so a \
re-sent or replayed decision carries the same id.
- Message key: `crn` on case topics, the region code on delivery and plan-level messages, so all events for one \
case (or one region's delivery) are ordered within a partition.
- Outbound messages are written to an outbox in the same transaction as the state change and relayed to Kafka: \
a crash never loses or invents a decision.
- An event arriving before what it refers to (e.g. a referral before its sentence) is parked and applied when \
that arrives; an event older than the state it would change is recorded and ignored; a message that can never \
be applied is recorded as a dead letter with the reason (wire form: event.dead_lettered on \
programmes.deadletter.v1) and never blocks the partition.
- A breaking payload change bumps schema_version and ships an upcaster; adding an optional field does not."""

TOPICS: dict[str, tuple[str, str]] = {
    r.SENTENCES: ("crn", "Sentences, requirements, licence conditions, person updates, case merges and "
                         "enforcement from probation case management."),
    r.REFERRALS: ("crn", "Referrals to accredited programmes: created, assessed, status changes, availability."),
    r.DELIVERY: ("region code", "Programme delivery: cohorts, facilitators and attendance."),
    r.ALLOCATIONS: ("crn or region code", "Allocation decisions and plans, each with its reason, deadline "
                                          "and plan version."),
    r.ALERTS: ("crn, or the alert subject id", "Alerts raised once per condition, updated when its "
                                              "severity or numbers change, cleared when it ends (e.g. a "
                                              "referral at risk of missing its deadline)."),
    r.REPORTS: ("region code", "Reports published."),
    r.DEADLETTER: ("origin (topic or file) of the rejected message",
                   "Messages that can never be applied: the original text, topic/partition/offset and the reason."),
}

KEYS: dict[str, str] = {
    "cohort.proposed": "region code",
    "plan.published": "region code",
    "allocation.made": "crn",
    "allocation.changed": "crn",
    "allocation.removed": "crn",
}


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema without ``$defs``: every ``#/$defs/<name>`` reference replaced by its definition."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return walk({**defs[ref.removeprefix("#/$defs/")], **siblings})
        return {k: walk(v) for k, v in node.items() if k != "$defs"}

    return walk(schema)


def key_of(spec: EventSpec) -> str:
    return KEYS.get(spec.event_type, TOPICS[spec.topic][0])


def message(spec: EventSpec) -> dict[str, Any]:
    key = key_of(spec)
    doc = {"summary": spec.model.__doc__.strip().splitlines()[0]} if spec.model.__doc__ else {}
    return {
        **doc,
        "name": spec.event_type,
        "title": f"{spec.event_type} v{spec.version}",
        "contentType": "application/json",
        "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": inline_refs(event_schema(spec))},
        "bindings": {"kafka": {"key": {"type": "string", "description": f"Message key: {key}."},
                               "bindingVersion": KAFKA_BINDING}},
        "x-key": key,
        "x-schema-version": spec.version,
    }


def _specs_on(topic: str) -> list[EventSpec]:
    return sorted((s for s in EVENTS.values() if s.topic == topic), key=lambda s: s.event_type)


def channel(topic: str) -> dict[str, Any]:
    key, description = TOPICS[topic]
    return {
        "address": topic,
        "title": topic,
        "description": f"{description} Message key: {key}.",
        "messages": {s.event_type: message(s) for s in _specs_on(topic)},
        "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING}},
    }


def operation(topic: str) -> dict[str, Any]:
    inbound = topic in r.INBOUND_TOPICS
    return {
        "action": "receive" if inbound else "send",
        "channel": {"$ref": f"#/channels/{topic}"},
        "summary": f"cohortplan {'consumes' if inbound else 'publishes'} {topic}.",
        "messages": [{"$ref": f"#/channels/{topic}/messages/{s.event_type}"} for s in _specs_on(topic)],
    }


def build_asyncapi() -> dict[str, Any]:
    topics = [*r.INBOUND_TOPICS, *r.OUTBOUND_TOPICS]
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:cohortplan:events",
        "info": {"title": "cohortplan", "version": DOC_VERSION, "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                              "description": "Local development broker."}},
        "channels": {topic: channel(topic) for topic in topics},
        "operations": {f"{op['action']}.{t}": op for t, op in ((t, operation(t)) for t in topics)},
        "components": {"schemas": {"envelope": {"schemaFormat": SCHEMA_FORMAT, "schema": {
            "$schema": SCHEMA_DIALECT, **Envelope.model_json_schema()}}}},
    }
