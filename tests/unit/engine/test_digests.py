"""Content digests keep the value docs/events.md defines (stored digests are in the canonical state, so a change
of definition would change every replay's state), and a copy with the first copy's text is the same event
without a digest being made (issue 16 §2).

The reference here is the definition in docs/events.md ("Duplicates and conflicts"): sha256 of the canonical
JSON (sorted keys, no spaces, UTF-8) of event_type, schema_version, occurred_at as a UTC instant, key and the
payload with integral floats as integers — written out independently of engine/services/digests.py.
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta, timezone

import pytest

from engine.events.envelope import Envelope
from engine.ports import SeenCopy
from engine.services import digests
from engine.services.digests import content_digest, same_content
from tests.support.events import T0, event


def reference(envelope: Envelope) -> str:
    def normal(value):
        if isinstance(value, dict):
            return {k: normal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [normal(v) for v in value]
        return int(value) if isinstance(value, float) and value.is_integer() else value
    text = json.dumps({"event_type": envelope.event_type, "schema_version": envelope.schema_version,
                       "occurred_at": envelope.occurred_at.astimezone(timezone.utc).isoformat(), "key": envelope.key,
                       "payload": normal(envelope.payload)}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def envelope(payload: dict) -> Envelope:
    return Envelope.model_validate({**json.loads(event("person.updated", T0, crn="X000001", region_code="RS",
                                                       pdu_code="RS-P01")), "payload": payload})


@pytest.mark.parametrize("payload", [
    {"crn": "X000001", "pdu_code": "RS-P01"},
    {"weekly_hours": 22.0},  # an integral float last in its object
    {"a": 22.0, "b": 1},  # then a comma
    {"hours": [1.0, 2.5]},  # in a list
    {"hours": [2.5, 3.0]},  # last in a list
    {"n": {"deep": [{"x": -0.0}]}},
    {"big": 1e16, "bigger": -2.5e20},  # written with an exponent
    {"small": 1.5e-7, "half": 0.5, "pi": 3.14159},  # not integral: as they are
    {"text": "22.0, 1e+16 and [3.0] in words", "x": 4},  # the characters in a string, no float
    {"text": "ünïcode – and \\u escapes \u2028", "none": None, "flag": True},
])
def test_the_digest_is_the_canonical_texts_whatever_the_payload_holds(payload):
    made = envelope(payload)
    assert content_digest(made) == reference(made)


def test_the_digest_of_every_event_of_a_generated_file_is_the_canonical_texts(tmp_path):
    from engine.events.decode import decode
    from simulator import GeneratorParams, generate
    path = tmp_path / "events.jsonl"
    generate(GeneratorParams(weeks=8), path)
    envelopes = [decode(line).envelope for line in path.read_text().splitlines()]
    assert len(envelopes) > 500 and any(".0," in line or ".0}" in line for line in path.read_text().splitlines())
    assert [content_digest(e) for e in envelopes] == [reference(e) for e in envelopes]


def copy_of(first: str, digest: str | None = "computed") -> SeenCopy:
    if digest == "computed":
        digest = content_digest(Envelope.model_validate(json.loads(first)))
    return SeenCopy("e1", "APPLIED", digest, first)


def test_the_same_text_is_the_same_content_without_a_digest_made(monkeypatch):
    text = event("person.updated", T0, crn="X000001", region_code="RS", pdu_code="RS-P01")
    first = copy_of(text)
    monkeypatch.setattr(digests, "content_digest", lambda _: pytest.fail("a digest was made for the same text"))
    assert same_content(first, text, Envelope.model_validate(json.loads(text)))


def test_another_layout_of_the_same_content_is_the_same_and_other_content_is_not():
    text = event("person.updated", T0, crn="X000001", region_code="RS", pdu_code="RS-P01")
    body = json.loads(text)
    body["source"] = "another-system"
    body["occurred_at"] = T0.astimezone(timezone(timedelta(hours=1))).isoformat()
    body["payload"] = dict(reversed(list(body["payload"].items())))
    relaid = json.dumps(dict(reversed(list(body.items()))), indent=2)
    other = json.dumps({**body, "payload": {**body["payload"], "pdu_code": "RS-P02"}})
    for first in (copy_of(text), copy_of(text, digest=None)):  # stored digest, or computed from the text kept
        assert same_content(first, relaid, Envelope.model_validate(json.loads(relaid)))
        assert not same_content(first, other, Envelope.model_validate(json.loads(other)))


def test_a_copy_recorded_before_digests_were_kept_matches_any_content():
    other = event("person.updated", T0, crn="X000001", region_code="RS", pdu_code="RS-P02")
    assert same_content(SeenCopy("e1", "APPLIED"), other, Envelope.model_validate(json.loads(other)))
