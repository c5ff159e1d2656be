"""Settings, topic routing of event files, and the re-plan partition of a region."""
from __future__ import annotations

import json

import pytest

from streams.replan import region_partition
from streams.kafka_io import plan_file, route
from streams.settings import StreamSettings
from tests.support.events import event, person_with_referral


def test_broker_url_becomes_aiokafka_bootstrap_servers():
    s = StreamSettings(broker_url="kafka://k1:9092;kafka://k2:9093")
    assert s.bootstrap_servers == "k1:9092,k2:9093"
    assert len(set(s.all_topics)) == 8


def test_renamed_topics_are_used_for_routing_and_the_outbox():
    s = StreamSettings(topic_referrals="acme.referrals", topic_allocations="acme.allocations")
    line = person_with_referral("X000001")[3]
    assert route(line, json.loads(line), s).topic == "acme.referrals"
    assert s.outbound_topic("programmes.allocations.v1") == "acme.allocations"


def test_every_region_has_one_stable_replan_partition():
    assert region_partition("RS", 6) == region_partition("RS", 6)
    assert {region_partition(f"R{i}", 6) for i in range(60)} == set(range(6))


@pytest.mark.parametrize("line,reason", [
    ("not json", "not a JSON object"),
    (json.dumps({"event_type": "allocation.made", "key": "X1"}), "unknown inbound event_type"),
    (json.dumps({"event_type": "referral.created"}), "no envelope key"),
])
def test_unroutable_lines_say_why(line, reason):
    with pytest.raises(ValueError, match=reason):
        route(line, json.loads(line) if line.startswith("{") else None, StreamSettings())


def test_plan_file_sends_in_event_time_order_and_names_bad_lines(tmp_path):
    lines = person_with_referral("X000001")
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([lines[2], "garbage", lines[0], lines[1], event("cohort.planned", key="RS")]) + "\n")
    routed, skipped = plan_file(path, StreamSettings())
    assert [json.loads(r.value)["event_type"] for r in routed][:3] == ["person.updated", "sentence.imposed",
                                                                      "requirement.created"]
    assert skipped == [(2, "not a JSON object")]
    assert all(r.key == b"X000001" for r in routed[:3])
