"""Wire contract: the exported JSON Schemas, the committed AsyncAPI document and golden events agree.

Golden inbound envelopes live in ``tests/contract/golden/<event_type>.v<version>.json``; outbound examples
are built from the typed models below. Schema validation uses ``jsonschema`` (skipped when not installed).
"""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from engine.cli import app
from engine.events import outbound as o
from engine.events.asyncapi import SCHEMA_FORMAT, build_asyncapi, inline_refs
from engine.events.decode import InvalidEvent, decode
from engine.events.envelope import Envelope, new_envelope
from engine.events.registry import EVENTS, INBOUND, INBOUND_TOPICS, OUTBOUND, OUTBOUND_TOPICS

REPO_ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_DOC = REPO_ROOT / "docs" / "asyncapi.json"
GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "run `cohortplan schemas asyncapi` to regenerate docs/asyncapi.json"
AT = datetime(2025, 3, 3, 6, 0, tzinfo=timezone.utc)

OUTBOUND_EXAMPLES: dict[str, tuple[str, BaseModel]] = {
    "allocation.made": ("X123456", o.AllocationMade(
        plan_version=12, referral_id="REF6789012", crn="X123456", cohort_id="C-RS-0042", programme_code="BC-M",
        start_date=date(2025, 3, 10), end_date=date(2025, 7, 28), deadline=date(2026, 12, 17),
        reason="earliest cohort at a preferred office that finishes before the deadline")),
    "allocation.changed": ("X123456", o.AllocationChanged(
        plan_version=13, referral_id="REF6789012", crn="X123456", cohort_id="C-RS-0047",
        previous_cohort_id="C-RS-0042", start_date=date(2025, 3, 24), end_date=date(2025, 8, 11),
        deadline=date(2026, 12, 17), reason="cohort C-RS-0042 cancelled")),
    "allocation.removed": ("X123456", o.AllocationRemoved(
        plan_version=14, referral_id="REF6789012", crn="X123456", previous_cohort_id="C-RS-0047",
        reason="referral deferred")),
    "cohort.proposed": ("RS", o.CohortProposed(
        plan_version=12, cohort_id="C-RS-0051", programme_code="BC-M", office_code="RS-P03-O1",
        start_date=date(2025, 4, 7), end_date=date(2025, 8, 25), facilitator_ids=["F-RS-007", "F-RS-011"],
        places_filled=8, reason="8 suitable referrals in RS-P03 with deadlines before 2026-06")),
    "plan.published": ("RS", o.PlanPublished(
        plan_version=12, region_code="RS", allocator="current-practice", as_of=date(2025, 3, 3), assigned=96,
        unallocated=7, cohorts_opened=2, made=11, changed=3, removed=1, status="FEASIBLE",
        objective={"waiting_days": 4312.0, "travel_minutes": 880.0})),
    "override.added": ("RS", o.OverrideAdded(
        override_id="ov-000042", region_code="RS", kind="keep", referral_id="REF6789012", crn="X123456",
        cohort_id="C-RS-0042", actor="planner.user-5", reason="agreed with the treatment manager: keep the evening group")),
    "override.removed": ("RS", o.OverrideRemoved(
        override_id="ov-000043", region_code="RS", kind="hold", referral_id="REF6789012", crn="X123456",
        until=date(2025, 4, 7), actor="planner.user-5", reason="in hospital until April")),
    "alert.raised": ("X123456", o.AlertRaised(
        alert_id="AT_RISK:referral:REF6789012", kind="AT_RISK", severity="CRITICAL", subject_type="referral",
        subject_id="REF6789012", act_by=date(2025, 4, 1), reason="no cohort finishes before the deadline")),
    "alert.updated": ("X123456", o.AlertUpdated(
        alert_id="deadline.at_risk:referral:REF6789012", kind="deadline.at_risk", severity="CRITICAL",
        previous_severity="WARNING", subject_type="referral", subject_id="REF6789012", region_code="RS",
        pdu_code="RS-P01", act_by=date(2025, 4, 1), reason="BC-M must start by 2025-04-01 to finish before the "
        "order ends 2025-09-30; no place yet (awaiting_allocation)",
        numbers={"latest_start": "2025-04-01", "deadline": "2025-09-30", "status": "AWAITING_ALLOCATION"})),
    "alert.cleared": ("X123456", o.AlertCleared(
        alert_id="AT_RISK:referral:REF6789012", kind="AT_RISK", subject_type="referral", subject_id="REF6789012",
        reason="placed on a cohort finishing in time")),
    "alert.acknowledged": ("X123456", o.AlertAcknowledged(
        alert_id="deadline.at_risk:referral:REF6789012", kind="deadline.at_risk", subject_type="referral",
        subject_id="REF6789012", region_code="RS", pdu_code="RS-P01", severity="WARNING", actor="ops.user-17",
        previous_state="OPEN", note="asked RS-P01 for an evening group")),
    "alert.assigned": ("X123456", o.AlertAssigned(
        alert_id="deadline.at_risk:referral:REF6789012", kind="deadline.at_risk", subject_type="referral",
        subject_id="REF6789012", region_code="RS", severity="WARNING", actor="ops.user-17",
        previous_state="ACKNOWLEDGED", assigned_to="tm.user-3")),
    "alert.snoozed": ("RS", o.AlertSnoozed(
        alert_id="capacity.shortfall:programme:BC-M", kind="capacity.shortfall", subject_type="programme",
        subject_id="BC-M", region_code="RS", severity="WARNING", actor="ops.user-17", previous_state="OPEN",
        until=date(2025, 3, 17), note="two facilitators finish training on the 14th")),
    "alert.resolved": ("X123456", o.AlertResolved(
        alert_id="deadline.at_risk:referral:REF6789012", kind="deadline.at_risk", subject_type="referral",
        subject_id="REF6789012", region_code="RS", severity="WARNING", actor="tm.user-3",
        previous_state="ASSIGNED", note="placed by hand on C-RS-0051")),
    "report.published": ("RS", o.ReportPublished(
        report_id="RPT-RS-2025-02", kind="monthly_waiting_list", period_start=date(2025, 2, 1),
        period_end=date(2025, 2, 28), location="out/reports/RS/2025-02.html")),
    "event.dead_lettered": ("probation.sentences.v1", o.DeadLettered(
        original='{"event_type": "sentence.imposed"', topic="probation.sentences.v1", partition=2, offset=1045,
        reason="bad JSON: Expecting ',' delimiter: line 1 column 34 (char 33)")),
    "event.readmitted": ("programmes.referrals.v1:0", o.EventReadmitted(
        topic="programmes.referrals.v1", partition=0, offset=1290, event_id=str(uuid.UUID(int=7, version=4)),
        waited_for="requirement:RQ-000450", reason="what it waited for arrived after it had expired")),
}


# --- helpers --------------------------------------------------------------------------------

def schema_file(event_type: str) -> str:
    return f"{event_type}.v{EVENTS[event_type].version}.json"


def golden_text(event_type: str) -> str:
    path = GOLDEN / schema_file(event_type)
    assert path.exists(), f"missing golden event {path.relative_to(REPO_ROOT)}"
    return path.read_text(encoding="utf-8")


def golden(event_type: str) -> dict[str, Any]:
    return json.loads(golden_text(event_type))


def outbound_envelope(event_type: str) -> dict[str, Any]:
    key, payload = OUTBOUND_EXAMPLES[event_type]
    event_id = uuid.UUID("5f0c9f4e-1d7b-4e0a-9f38-6b1f6a2d0c11")
    return new_envelope(event_type, key, payload, AT, event_id=event_id).model_dump(mode="json")


def validator(schema: dict[str, Any]):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def asyncapi_messages(doc: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """event type → (channel address, message) across every channel of an AsyncAPI document."""
    return {name: (channel["address"], message)
            for channel in doc["channels"].values() for name, message in channel["messages"].items()}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, dict[str, Any]]:
    directory = tmp_path_factory.mktemp("schemas")
    result = CliRunner().invoke(app, ["schemas", "export", str(directory)])
    assert result.exit_code == 0, result.output
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in directory.iterdir()}


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    assert ASYNCAPI_DOC.exists(), f"docs/asyncapi.json is missing: {REGENERATE}"
    return json.loads(ASYNCAPI_DOC.read_text(encoding="utf-8"))


# --- (a) export -----------------------------------------------------------------------------

def test_export_writes_one_json_schema_per_event_type_plus_the_envelope(exported):
    assert set(exported) == {schema_file(name) for name in EVENTS} | {"envelope.json"}
    for name, schema in exported.items():
        assert "$schema" in schema, f"{name} has no $schema"


def test_each_exported_event_schema_fixes_its_type_version_and_topic(exported):
    for name, spec in EVENTS.items():
        schema = exported[schema_file(name)]
        assert schema["properties"]["event_type"]["const"] == name
        assert schema["properties"]["schema_version"]["const"] == spec.version
        assert schema["x-topic"] == spec.topic


def test_exported_schemas_are_valid_draft_2020_12(exported):
    for schema in exported.values():
        validator(schema)


# --- (b) the committed AsyncAPI document ------------------------------------------------------

def test_committed_asyncapi_document_is_what_the_builder_produces(committed):
    assert committed == build_asyncapi(), f"docs/asyncapi.json is out of date: {REGENERATE}"


def test_asyncapi_command_writes_the_document_deterministically(tmp_path):
    path = tmp_path / "nested" / "asyncapi.json"
    result = CliRunner().invoke(app, ["schemas", "asyncapi", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == json.dumps(build_asyncapi(), indent=2, sort_keys=True) + "\n"


def test_asyncapi_document_describes_a_local_kafka_server_and_delivery_guarantees(committed):
    assert committed["asyncapi"] == "3.0.0"
    assert committed["info"]["title"] == "cohortplan"
    for phrase in ("at-least-once", "event_id", "crn", "region"):
        assert phrase in committed["info"]["description"].lower()
    assert committed["servers"]["local"] == {"host": "127.0.0.1:9092", "protocol": "kafka",
                                             "description": "Local development broker."}


# --- (c) AsyncAPI payloads are the exported schemas --------------------------------------------

def test_every_asyncapi_payload_is_the_exported_schema_of_its_event_type(committed, exported):
    for name, (_, message) in asyncapi_messages(committed).items():
        payload = message["payload"]
        assert payload["schemaFormat"] == SCHEMA_FORMAT
        assert payload["schema"] == inline_refs(exported[schema_file(name)]), \
            f"{name}: AsyncAPI payload differs from exported {schema_file(name)}; {REGENERATE}"


def test_inlining_refs_only_replaces_local_definitions(exported):
    schema = exported[schema_file("cohort.planned")]
    inlined = inline_refs(schema)
    assert "$ref" not in json.dumps(inlined) and "$defs" not in inlined
    assert inlined["properties"]["payload"]["properties"]["slots"]["items"] == schema["$defs"]["SlotPayload"]
    plain = exported[schema_file("sentence.imposed")]
    assert inline_refs(plain) == plain


# --- (d) coverage -----------------------------------------------------------------------------

def test_every_topic_is_a_channel_and_every_event_type_a_message_on_its_topic(committed):
    addresses = {channel["address"] for channel in committed["channels"].values()}
    assert addresses == set(INBOUND_TOPICS) | set(OUTBOUND_TOPICS)
    messages = asyncapi_messages(committed)
    assert set(messages) == set(EVENTS)
    for name, (address, message) in messages.items():
        assert address == EVENTS[name].topic
        assert message["name"] == name
        assert message["bindings"]["kafka"]["key"]["type"] == "string"


def test_cohortplan_receives_inbound_topics_and_sends_outbound_ones(committed):
    actions = {}
    for operation in committed["operations"].values():
        channel = committed["channels"][operation["channel"]["$ref"].removeprefix("#/channels/")]
        actions[channel["address"]] = operation["action"]
        refs = {ref["$ref"].rsplit("/", 1)[-1] for ref in operation["messages"]}
        assert refs == set(channel["messages"])
    assert actions == {**{t: "receive" for t in INBOUND_TOPICS}, **{t: "send" for t in OUTBOUND_TOPICS}}


# --- (e) golden events --------------------------------------------------------------------------

def test_every_inbound_event_type_has_a_golden_event_at_its_current_version():
    names = {p.name for p in GOLDEN.glob("*.json")}
    assert {schema_file(name) for name in INBOUND} <= names


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.name)
def test_every_golden_file_is_a_supported_inbound_event_that_decodes(path):
    """Older versions' golden files stay, so this also proves their upcasters still work."""
    event_type, version = path.name.removesuffix(".json").rsplit(".v", 1)
    assert event_type in INBOUND and 1 <= int(version) <= INBOUND[event_type].version, path.name
    event = json.loads(path.read_text(encoding="utf-8"))
    assert (event["event_type"], event["schema_version"]) == (event_type, int(version))
    assert decode(json.dumps(event)).envelope.event_type == event_type


@pytest.mark.parametrize("event_type", sorted(INBOUND))
def test_golden_inbound_event_decodes(event_type):
    decoded = decode(golden_text(event_type))
    assert decoded.envelope.event_type == event_type
    assert decoded.envelope.schema_version == INBOUND[event_type].version
    assert isinstance(decoded.payload, INBOUND[event_type].model)


@pytest.mark.parametrize("event_type", sorted(INBOUND))
def test_golden_inbound_event_validates_against_its_exported_and_asyncapi_schema(event_type, exported, committed):
    event = golden(event_type)
    validator(exported[schema_file(event_type)]).validate(event)
    validator(asyncapi_messages(committed)[event_type][1]["payload"]["schema"]).validate(event)


@pytest.mark.parametrize("event_type", sorted(INBOUND))
def test_golden_inbound_event_without_a_required_field_is_rejected(event_type, exported):
    schema = exported[schema_file(event_type)]
    event = golden(event_type)
    missing = schema["properties"]["payload"]["required"][0]
    del event["payload"][missing]
    with pytest.raises(InvalidEvent, match=missing):
        decode(json.dumps(event))
    assert not validator(schema).is_valid(event)


def test_every_outbound_event_type_has_an_example():
    assert set(OUTBOUND_EXAMPLES) == set(OUTBOUND)


@pytest.mark.parametrize("event_type", sorted(OUTBOUND))
def test_outbound_example_validates_against_its_exported_schema(event_type, exported):
    validator(exported[schema_file(event_type)]).validate(outbound_envelope(event_type))


def test_an_envelope_of_one_type_does_not_validate_as_another(exported):
    event = golden("sentence.imposed")
    assert not validator(exported[schema_file("sentence.amended")]).is_valid(event)


# --- (f) unknown fields ------------------------------------------------------------------------

@pytest.mark.parametrize("event_type", sorted(INBOUND))
def test_inbound_payload_ignores_unknown_fields(event_type, exported):
    event = golden(event_type)
    event["payload"]["added_in_a_later_minor_release"] = {"any": "thing"}
    decoded = decode(json.dumps(event))
    assert "added_in_a_later_minor_release" not in decoded.payload.model_dump()
    validator(exported[schema_file(event_type)]).validate(event)


@pytest.mark.parametrize("event_type", sorted(OUTBOUND))
def test_outbound_payload_rejects_unknown_fields(event_type, exported):
    _, payload = OUTBOUND_EXAMPLES[event_type]
    with pytest.raises(ValidationError, match="extra"):
        type(payload).model_validate({**payload.model_dump(), "surprise": 1})
    event = outbound_envelope(event_type)
    event["payload"]["surprise"] = 1
    assert not validator(exported[schema_file(event_type)]).is_valid(event)


# --- (g) the envelope ---------------------------------------------------------------------------

def test_envelope_rejects_an_occurred_at_without_a_timezone():
    event = golden("sentence.imposed")
    event["occurred_at"] = "2025-01-06T10:15:00"
    with pytest.raises(ValidationError, match="timezone"):
        Envelope.model_validate(event)
    with pytest.raises(InvalidEvent, match="occurred_at"):
        decode(json.dumps(event))


def test_envelope_normalises_occurred_at_to_utc():
    event = golden("sentence.imposed")
    event["occurred_at"] = "2025-01-06T11:15:00+01:00"
    assert Envelope.model_validate(event).occurred_at == datetime(2025, 1, 6, 10, 15, tzinfo=timezone.utc)


@pytest.mark.parametrize("event_type", ["SentenceImposed", "sentence", "sentence.Imposed", "sentence-imposed",
                                        "sentence.imposed.", "sentence.imposed.v1", ""])
def test_envelope_rejects_an_event_type_that_is_not_dotted_snake_case(event_type, exported):
    event = golden("sentence.imposed")
    event["event_type"] = event_type
    with pytest.raises(ValidationError, match="event_type"):
        Envelope.model_validate(event)
    with pytest.raises(InvalidEvent, match="event_type"):
        decode(json.dumps(event))
    assert not validator(exported["envelope.json"]).is_valid(event)
