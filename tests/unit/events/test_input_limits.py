"""Unbounded input is refused (issue 12): every string on the wire has a maximum length and no control
characters, booleans and numbers are strict, dates are ISO strings, and every event the generator writes
still decodes."""
from __future__ import annotations

import json
from typing import Any

import pytest

from engine.domain.programmes import load_catalogue
from engine.events.decode import MAX_MESSAGE_SIZE, InvalidEvent, decode
from engine.events.schemas import all_schemas
from engine.handlers.reference import check_codes
from simulator.params import GeneratorParams
from simulator.writer import generate
from tests.contract.test_schemas import golden
from tests.unit.engine.harness import Harness

BIG = "A" * 100_000
CONTROL = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f"]


def with_payload(event_type: str, **fields: Any) -> dict[str, Any]:
    event = golden(event_type)
    event["payload"].update(fields)
    return event


def refused(event: dict[str, Any]) -> str:
    with pytest.raises(InvalidEvent) as info:
        decode(json.dumps(event))
    return str(info.value)


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


# --- lengths ------------------------------------------------------------------------------------

@pytest.mark.parametrize("event_type, field", [
    ("cohort.cancelled", "reason"), ("referral.status_changed", "reason"), ("referral.status_changed", "to_status"),
    ("referral.created", "referral_id"), ("referral.created", "programme_code"), ("referral.created", "source"),
    ("person.updated", "crn"), ("person.updated", "region_code"), ("cohort.planned", "office_code"),
])
def test_a_100_kb_string_in_a_payload_field_is_refused_naming_the_field(event_type, field):
    reason = refused(with_payload(event_type, **{field: BIG}))
    assert f"invalid {event_type} payload: {field}:" in reason and "at most" in reason
    assert BIG[:100] not in reason  # the reason quotes the rule, never the input


@pytest.mark.parametrize("field", ["source", "key"])
def test_a_100_kb_envelope_source_or_key_is_refused_naming_the_field(field):
    event = golden("sentence.imposed")
    event[field] = BIG
    reason = refused(event)
    assert reason.startswith("invalid envelope:") and f"{field}:" in reason and "at most" in reason


def test_an_over_long_string_becomes_a_dead_letter_and_changes_nothing(h):
    cancel = with_payload("cohort.cancelled", reason=BIG)
    big_source = golden("sentence.imposed") | {"source": BIG}
    result = h.feed(json.dumps(cancel), json.dumps(big_source))
    assert result.dead_lettered == 2 and result.applied == 0
    reasons = [d["reason"] for d in h.dead_letters()]
    assert any("payload: reason:" in r for r in reasons) and any("envelope: source:" in r for r in reasons)
    with h.db.uow() as uow:
        assert uow.sentences.get("S1234567") is None


@pytest.mark.parametrize("field, value, limit", [
    ("non_associations", [f"X{i:06d}" for i in range(51)], 50),
])
def test_person_lists_are_capped(field, value, limit):
    assert f"{field}:" in refused(with_payload("person.updated", **{field: value}))
    assert decode(json.dumps(with_payload("person.updated", **{field: value[:limit]})))


@pytest.mark.parametrize("event_type, field, item, limit", [
    ("cohort.confirmed", "members", "REF{}", 30),
    ("cohort.confirmed", "facilitator_ids", "F{}", 10),
    ("facilitator.registered", "programmes", "BC-M", 30),
    ("facilitator.registered", "offices", "RS-P01-O1", 50),
    ("facilitator.registered", "availability", {"weekday": 0, "period": "DAYTIME"}, 14),
    ("referral.availability_updated", "preferred_offices", "RS-P01-O1", 50),
    ("referral.availability_updated", "cannot_attend_offices", "RS-P01-O1", 50),
    ("cohort.planned", "slots", {"weekday": 0, "start": "10:00", "period": "DAYTIME"}, 7),
])
def test_lists_on_the_wire_are_capped(event_type, field, item, limit):
    def items(n):
        return [item.format(i) if isinstance(item, str) else item for i in range(n)]
    assert f"{field}:" in refused(with_payload(event_type, **{field: items(limit + 1)}))
    decode(json.dumps(with_payload(event_type, **{field: items(limit)})))


def test_a_message_larger_than_the_limit_is_refused_before_it_is_parsed():
    event = golden("sentence.imposed")
    event["payload"]["padding"] = "x" * MAX_MESSAGE_SIZE  # an ignored field still counts
    with pytest.raises(InvalidEvent, match="message too large"):
        decode(json.dumps(event))
    with pytest.raises(InvalidEvent, match="message too large"):
        decode(json.dumps(event).encode())


def _unbounded(schema: Any, where: str, defs: dict[str, Any]) -> list[str]:
    """Paths to string fields without a maximum length and arrays without a maximum size."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        return _unbounded(defs[schema["$ref"].rsplit("/", 1)[-1]], where, defs)
    found = []
    if schema.get("type") == "string" and not ({"maxLength", "enum", "const"} & schema.keys()) \
            and schema.get("format") not in ("date", "date-time", "uuid"):
        found.append(where)
    if schema.get("type") == "array" and "maxItems" not in schema:
        found.append(where)
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(sub, f"{where}.{name}", defs)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += _unbounded(sub, where, defs)
    found += _unbounded(schema.get("items"), f"{where}[]", defs)
    return found


def test_every_string_and_list_of_every_inbound_event_has_a_maximum_in_its_exported_schema():
    unbounded = []
    for name, schema in all_schemas().items():
        if schema.get("x-topic", "").startswith(("probation.", "programmes.referrals", "programmes.delivery")):
            unbounded += [f"{name}: {path}" for path in _unbounded(schema, "", schema.get("$defs", {}))]
    assert unbounded == []


# --- control characters -------------------------------------------------------------------------

@pytest.mark.parametrize("char", CONTROL, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("event_type, field", [
    ("cohort.cancelled", "reason"), ("referral.status_changed", "to_status"), ("referral.created", "referral_id"),
    ("referral.created", "source"), ("person.updated", "region_code"), ("sentence.imposed", "crn"),
])
def test_a_control_character_in_a_payload_string_is_refused_naming_the_field(event_type, field, char):
    value = f"AB{char}C"
    reason = refused(with_payload(event_type, **{field: value}))
    assert f"invalid {event_type} payload: {field}:" in reason
    if field in ("reason", "to_status"):  # free text: the rule is the control character itself
        assert f"control characters (found U+{ord(char):04X} at position 2)" in reason


@pytest.mark.parametrize("field", ["source", "key"])
def test_a_nul_in_the_envelope_is_refused_naming_the_field(field):
    event = golden("sentence.imposed")
    event[field] = "ndel\x00ius"
    reason = refused(event)
    assert f"{field}: must not contain control characters (found U+0000 at position 4)" in reason


def test_a_nul_inside_a_list_item_names_the_item():
    reason = refused(with_payload("facilitator.registered", programmes=["BC-M", "BC\x00H"]))
    assert "programmes.1:" in reason


def test_a_nul_byte_in_a_payload_becomes_a_dead_letter_that_postgres_can_store(h):
    result = h.feed(json.dumps(with_payload("cohort.cancelled", reason="room\x00unavailable")))
    assert result.dead_lettered == 1
    reason = h.dead_letters()[-1]["reason"]
    assert "reason: must not contain control characters" in reason and "\x00" not in reason


def test_printable_unicode_in_free_text_is_kept():
    event = with_payload("referral.status_changed", reason="employment clash — back in März; café hours")
    assert decode(json.dumps(event)).payload.reason == "employment clash — back in März; café hours"


# --- booleans, numbers, dates -------------------------------------------------------------------

@pytest.mark.parametrize("value", ["yes", "no", "0", "1", "true", "false", 1, 0, 1.0, None])
@pytest.mark.parametrize("event_type, field", [
    ("person.updated", "ldc"), ("person.updated", "interpreter_needed"), ("referral.assessed", "ldc"),
    ("cohort.planned", "ldc"), ("attendance.recorded", "final_session"),
])
def test_a_boolean_is_only_true_or_false(event_type, field, value):
    if value is None and event_type == "person.updated":
        return  # a partial update may send null: "leave as is"
    assert f"{field}:" in refused(with_payload(event_type, **{field: value}))


@pytest.mark.parametrize("value", [True, False])
def test_true_and_false_are_booleans(value):
    assert decode(json.dumps(with_payload("person.updated", ldc=value))).payload.ldc is value


@pytest.mark.parametrize("value", ["22", "22.5", True, "", [22]])
@pytest.mark.parametrize("event_type", ["facilitator.registered", "facilitator.updated"])
def test_weekly_hours_must_be_a_json_number(event_type, value):
    assert "weekly_hours:" in refused(with_payload(event_type, weekly_hours=value))


@pytest.mark.parametrize("value", [22, 22.5])
def test_a_whole_number_is_a_number(value):
    payload = decode(json.dumps(with_payload("facilitator.registered", weekly_hours=value))).payload
    assert payload.weekly_hours == value and isinstance(payload.weekly_hours, float)


@pytest.mark.parametrize("event_type, field, value", [
    ("referral.assessed", "ogrs3", "62.5"), ("referral.assessed", "ovp", True), ("referral.assessed", "rsr", "2"),
    ("referral.assessed", "need_score", "5"), ("referral.assessed", "need_score", 5.0),
    ("referral.assessed", "need_score", True), ("attendance.recorded", "session_number", "3"),
    ("attendance.recorded", "session_number", 10**12), ("cohort.planned", "min_size", "6"),
    ("cohort.planned", "max_size", 10.0),
])
def test_numbers_are_strict(event_type, field, value):
    assert f"{field}:" in refused(with_payload(event_type, **{field: value}))


@pytest.mark.parametrize("window", [{"weekday": "0", "period": "DAYTIME"}, {"weekday": True, "period": "DAYTIME"},
                                    {"weekday": 0.0, "period": "DAYTIME"}])
def test_a_weekday_is_a_whole_number(window):
    assert "availability.0.weekday:" in refused(with_payload("referral.availability_updated", availability=[window]))


@pytest.mark.parametrize("value", ["1", True, 1.0])
def test_the_envelope_schema_version_is_a_whole_number(value):
    event = golden("sentence.imposed")
    event["schema_version"] = value
    assert "schema_version:" in refused(event)


@pytest.mark.parametrize("value", [0, 1735689600, 20250106, True])
def test_dates_are_iso_strings_not_numbers(value):
    assert "start_date:" in refused(with_payload("sentence.imposed", start_date=value))


def test_an_occurred_at_that_is_a_number_is_refused():
    event = golden("sentence.imposed")
    event["occurred_at"] = 1735689600
    assert "occurred_at:" in refused(event)


def test_an_unknown_ethnicity_group_is_refused():
    assert "ethnicity_group:" in refused(with_payload("person.updated", ethnicity_group="W"))


# --- what the generator writes --------------------------------------------------------------------

@pytest.mark.parametrize("mix", ["building-choices", "legacy"])
def test_every_event_of_a_small_generated_region_decodes_and_names_known_codes(tmp_path, mix):
    path = tmp_path / "events.jsonl"
    summary = generate(GeneratorParams(weeks=16, scale=0.3, seed=7, programme_mix=mix), path)
    catalogue = load_catalogue()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary.lines > 500
    for line in lines:
        check_codes(decode(line).payload, catalogue)
