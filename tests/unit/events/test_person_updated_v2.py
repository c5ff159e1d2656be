"""person.updated v2 carries the case's limited access (restrictions and exclusions); v1 is lifted to it."""
from __future__ import annotations

import json

import pytest

from engine.events import inbound as i
from engine.events.decode import InvalidEvent, decode
from engine.events.upcasters import person_updated_v1_to_v2
from tests.contract.test_schemas import GOLDEN


def golden_path(version: str):
    return GOLDEN / f"person.updated.{version}.json"


def v1() -> dict:
    return json.loads(golden_path("v1").read_text())


def test_the_upcaster_keeps_every_v1_field_and_leaves_the_rule_unchanged():
    old = v1()["payload"]
    assert person_updated_v1_to_v2(dict(old)) == {**old, "limited_access": None}


def test_a_v1_event_decodes_as_v2_without_a_rule_and_keeps_its_payload_as_sent():
    event = v1()
    decoded = decode(json.dumps(event))
    assert decoded.payload.limited_access is None
    assert decoded.payload.non_associations == ["X654321"] and decoded.payload.region_code == "RS"
    assert decoded.envelope.schema_version == 1 and decoded.envelope.payload == event["payload"]


def test_a_v1_event_carrying_a_rule_is_a_dead_letter_not_a_silently_dropped_restriction():
    event = v1()
    event["payload"]["limited_access"] = {"restrictions": ["pp.user-1"]}
    with pytest.raises(InvalidEvent) as info:
        decode(json.dumps(event))
    assert str(info.value).startswith("invalid person.updated payload: cannot upcast it from schema_version 1 to 2: "
                                      "ValueError: limited_access is read from schema_version 2 on")


def test_a_v1_event_with_a_null_rule_is_lifted_like_any_other():
    event = v1()
    event["payload"]["limited_access"] = None
    assert decode(json.dumps(event)).payload.limited_access is None


def test_a_v2_event_carries_restrictions_and_exclusions():
    decoded = decode(golden_path("v2").read_text())
    assert decoded.payload.limited_access == i.LimitedAccess(restrictions=["pp.officer-12", "tm.manager-4"],
                                                             exclusions=["staff.user-77"])


@pytest.mark.parametrize("rule,reason", [
    ({"restrictions": ["bad user"]}, "limited_access.restrictions.0"),
    ({"exclusions": ["u"] * 201}, "limited_access.exclusions"),
    ({"restrictions": "pp.user-1"}, "limited_access.restrictions"),
])
def test_a_v2_rule_is_as_strict_and_bounded_as_every_field(rule, reason):
    event = json.loads(golden_path("v2").read_text())
    event["payload"]["limited_access"] = rule
    with pytest.raises(InvalidEvent, match=reason.replace(".", r"\.")):
        decode(json.dumps(event))
