"""Events evolve without sending everything to the dead letters (docs/events.md, "Evolving the events").

- The envelope keeps fields it does not know, within bounds (at most 16, field-like names, scalar values):
  a producer adding a trace id no longer dead-letters every event, and unbounded input is still refused.
- Payloads are unchanged: unknown payload fields are ignored (tests/contract), every known field strict.
- A breaking payload change is a new ``schema_version`` with an upcaster per event type and version; a v1
  event is lifted to v2 before validation. No real v2 exists yet, so the v2 here is a test example.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Literal

import pytest

from engine.events.decode import MAX_MESSAGE_SIZE, UPCASTERS, InvalidEvent, decode
from engine.events.envelope import EXTENSIONS_MAX, Envelope, Id, Payload, Text
from engine.events.registry import INBOUND
from engine.events.schemas import all_schemas
from tests.contract.test_schemas import golden, validator
from tests.unit.engine.harness import Harness

EXTENSIONS = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "producerVersion": "2.4.1", "x-retries": 2,
              "sampled": True, "score.weight": 0.5, "parent": None}


def with_envelope(event_type: str, **fields: Any) -> dict[str, Any]:
    return golden(event_type) | fields


def refused(event: dict[str, Any]) -> str:
    with pytest.raises(InvalidEvent) as info:
        decode(json.dumps(event))
    return str(info.value)


# --- unknown envelope fields: kept ------------------------------------------------------------------

def test_an_event_with_unknown_envelope_fields_decodes_and_keeps_them():
    decoded = decode(json.dumps(with_envelope("sentence.imposed", **EXTENSIONS)))
    assert decoded.envelope.model_extra == EXTENSIONS
    assert decoded.payload == decode(json.dumps(golden("sentence.imposed"))).payload


def test_kept_envelope_fields_survive_re_serialisation():
    envelope = decode(json.dumps(with_envelope("sentence.imposed", **EXTENSIONS))).envelope
    assert json.loads(envelope.model_dump_json()).items() >= EXTENSIONS.items()
    assert Envelope.model_validate_json(envelope.model_dump_json()) == envelope


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def test_the_engine_applies_the_event_and_stores_it_with_its_unknown_fields(h):
    text = json.dumps(with_envelope("sentence.imposed", trace_id="abc123"))
    assert h.feed(text).applied == 1
    event_id = golden("sentence.imposed")["event_id"]
    with h.db.uow() as uow:
        assert uow.sentences.get("S1234567") is not None
        assert json.loads(uow.seen_copies([event_id])[event_id].raw)["trace_id"] == "abc123"


def test_a_dead_letter_keeps_the_unknown_fields_of_the_message_it_refused(h):
    event = with_envelope("cohort.cancelled", trace_id="abc123")
    event["payload"]["reason"] = "x" * 501
    assert h.feed(json.dumps(event)).dead_lettered == 1
    assert json.loads(h.dead_letters()[-1]["raw"])["trace_id"] == "abc123"


def test_a_redelivery_differing_only_in_unknown_envelope_fields_is_a_duplicate_not_a_conflict(h):
    """Like ``source``, they say how the event travelled, not what happened: the content digest leaves them out."""
    first, again = (json.dumps(with_envelope("sentence.imposed", trace_id=trace)) for trace in ("hop-1", "hop-2"))
    result = h.feed(first, again)
    assert (result.applied, result.duplicates, result.dead_lettered) == (1, 1, 0)


# --- unknown envelope fields: bounded ---------------------------------------------------------------

def test_at_most_16_unknown_envelope_fields_are_kept():
    fields = {f"ext_{i}": i for i in range(EXTENSIONS_MAX + 1)}
    assert decode(json.dumps(with_envelope("sentence.imposed", **dict(list(fields.items())[:EXTENSIONS_MAX]))))
    assert refused(with_envelope("sentence.imposed", **fields)) == (
        "invalid envelope: (root): at most 16 unknown envelope fields are kept, got 17")


@pytest.mark.parametrize("value", [{"id": "abc"}, ["abc"], "x" * 501, "A" * 100_000],
                         ids=["object", "list", "501 characters", "100 kB"])
def test_an_unknown_envelope_field_holds_only_a_bounded_scalar(value):
    reason = refused(with_envelope("sentence.imposed", trace=value))
    assert reason == ("invalid envelope: trace: an unknown envelope field holds a string of at most 500 "
                      "characters, a finite number, true, false or null")


def test_an_unknown_envelope_field_holds_no_control_character():
    assert refused(with_envelope("sentence.imposed", trace="ab\x00c")) == (
        "invalid envelope: trace: must not contain control characters (found U+0000 at position 2)")


def test_an_unknown_envelope_field_holds_no_infinite_number():
    event = json.dumps(golden("sentence.imposed")).removesuffix("}") + ', "weight": Infinity}'
    with pytest.raises(InvalidEvent, match="weight: an unknown envelope field holds"):
        decode(event)


@pytest.mark.parametrize("name", ["9lives", "_private", "trace id", "tr\x00ace", "x" * 65, ""])
def test_an_unknown_envelope_field_is_named_like_a_field(name):
    reason = refused(with_envelope("sentence.imposed", **{name: 1}))
    assert reason.startswith("invalid envelope: (root): unknown envelope field ") and "\x00" not in reason
    assert "a name is 1-64 letters, digits, '_', '.' or '-' starting with a letter" in reason


def test_the_message_size_limit_still_bounds_the_whole_message():
    event = with_envelope("sentence.imposed", trace="x" * 500)
    event["payload"]["padding"] = "x" * MAX_MESSAGE_SIZE
    with pytest.raises(InvalidEvent, match="message too large"):
        decode(json.dumps(event))


def test_the_exported_schemas_say_what_unknown_envelope_fields_may_be():
    schemas = all_schemas()
    for name in ("envelope.json", "sentence.imposed.v1.json"):
        schema = schemas[name]
        assert schema["maxProperties"] == 7 + EXTENSIONS_MAX
        assert schema["propertyNames"] == {"pattern": "^[A-Za-z][A-Za-z0-9_.-]{0,63}$"}
        assert {"type": "string", "maxLength": 500, "pattern": "^[^\\x00-\\x1F\\x7F]*$"} in (
            schema["additionalProperties"]["anyOf"])
    check = validator(schemas["sentence.imposed.v1.json"])
    assert check.is_valid(with_envelope("sentence.imposed", **EXTENSIONS))
    assert not check.is_valid(with_envelope("sentence.imposed", trace={"id": "abc"}))
    assert not check.is_valid(with_envelope("sentence.imposed", **{"trace id": 1}))


# --- a new payload version: upcast v1 to v2 ----------------------------------------------------------

class CohortCancelledV2(Payload):
    """The test's v2 of cohort.cancelled: the free-text ``reason`` becomes a required code and a text."""

    cohort_id: Id
    reason_code: Literal["ROOM", "STAFF", "TOO_FEW_REFERRALS", "UNSPECIFIED"]
    reason_text: Text = ""


def upcast_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A v1 cancellation gave no code: it is UNSPECIFIED, and its reason is the text."""
    v2 = {key: value for key, value in payload.items() if key != "reason"}
    return v2 | {"cohort_id": payload["cohort_id"], "reason_code": "UNSPECIFIED",
                 "reason_text": payload.get("reason", "")}


V2_EXAMPLE = golden("cohort.cancelled") | {
    "event_id": "9d1f0c55-2f43-4c8e-9a51-0d3f5f1b7c20", "schema_version": 2,
    "payload": {"cohort_id": "C-RS-0042", "reason_code": "ROOM", "reason_text": "room unavailable"}}


@pytest.fixture
def cohort_cancelled_v2(monkeypatch) -> None:
    """cohort.cancelled at version 2, with its upcaster from version 1 registered."""
    monkeypatch.setitem(INBOUND, "cohort.cancelled", replace(INBOUND["cohort.cancelled"], model=CohortCancelledV2,
                                                            version=2))
    monkeypatch.setitem(UPCASTERS, ("cohort.cancelled", 1), upcast_v1_to_v2)


@pytest.mark.usefixtures("cohort_cancelled_v2")
def test_a_v1_event_is_upcast_to_v2_before_it_is_validated():
    v1 = golden("cohort.cancelled")
    decoded = decode(json.dumps(v1))
    assert decoded.payload == CohortCancelledV2(cohort_id="C-RS-0042", reason_code="UNSPECIFIED",
                                                reason_text="room unavailable")
    assert decoded.envelope.schema_version == 1 and decoded.envelope.payload == v1["payload"]  # as sent


@pytest.mark.usefixtures("cohort_cancelled_v2")
def test_a_v2_event_decodes_as_it_is(monkeypatch):
    monkeypatch.setitem(UPCASTERS, ("cohort.cancelled", 1), lambda payload: pytest.fail("a v2 is not upcast"))
    assert decode(json.dumps(V2_EXAMPLE)).payload == CohortCancelledV2(
        cohort_id="C-RS-0042", reason_code="ROOM", reason_text="room unavailable")


@pytest.mark.usefixtures("cohort_cancelled_v2")
def test_a_v2_event_is_strict_as_a_v1_is():
    event = json.loads(json.dumps(V2_EXAMPLE))
    event["payload"]["reason_code"] = "room"
    assert refused(event).startswith("invalid cohort.cancelled payload: reason_code:")


@pytest.mark.usefixtures("cohort_cancelled_v2")
def test_versions_are_lifted_one_step_at_a_time(monkeypatch):
    class CohortCancelledV3(CohortCancelledV2):
        cancelled_by: Id

    monkeypatch.setitem(INBOUND, "cohort.cancelled", replace(INBOUND["cohort.cancelled"], model=CohortCancelledV3,
                                                            version=3))
    monkeypatch.setitem(UPCASTERS, ("cohort.cancelled", 2), lambda payload: payload | {"cancelled_by": "unknown"})
    assert decode(json.dumps(golden("cohort.cancelled"))).payload == CohortCancelledV3(
        cohort_id="C-RS-0042", reason_code="UNSPECIFIED", reason_text="room unavailable", cancelled_by="unknown")
    assert decode(json.dumps(V2_EXAMPLE)).payload.cancelled_by == "unknown"


@pytest.mark.usefixtures("cohort_cancelled_v2")
def test_a_version_newer_than_supported_is_a_dead_letter():
    assert refused(V2_EXAMPLE | {"schema_version": 3}) == (
        "cohort.cancelled schema_version 3 is newer than supported 2")


def test_a_v1_event_without_an_upcaster_to_the_current_version_is_a_dead_letter(monkeypatch):
    monkeypatch.setitem(INBOUND, "cohort.cancelled", replace(INBOUND["cohort.cancelled"], model=CohortCancelledV2,
                                                            version=2))
    assert refused(golden("cohort.cancelled")) == "cohort.cancelled schema_version 1 has no upcaster to 2"


@pytest.mark.usefixtures("cohort_cancelled_v2")
def test_an_old_payload_the_upcaster_cannot_read_is_a_dead_letter_not_a_crash():
    event = golden("cohort.cancelled")
    del event["payload"]["cohort_id"]
    assert refused(event) == ("invalid cohort.cancelled payload: cannot upcast it from schema_version 1 to 2: "
                              "KeyError: 'cohort_id'")


def test_every_inbound_version_has_its_chain_of_upcasters_and_no_other():
    """A v2 registered in engine/events/registry.py without its step from v1 (or a step left for a version
    that does not exist) fails here, before any v1 event meets it."""
    registered = {(name, version) for name, spec in INBOUND.items() for version in range(1, spec.version)}
    assert set(UPCASTERS) == registered
