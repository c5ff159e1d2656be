"""Fault scenarios on real components (issue 16 §1): a worker on a real Kafka broker fed a faulty copy of a
generated stream ends in the state, and publishes the decisions, of a clean embedded replay of the same events.

The in-suite size is small (about 2,000 events); the full size runs by hand with a bigger region, e.g.
``COHORTPLAN_FAULTS_WEEKS=104 COHORTPLAN_FAULTS_SCALE=5 .venv/bin/pytest tests/faults -s`` (figures and
the command in docs/RELIABILITY.md). Every scenario prints its report line (``-s`` shows it).

The worker plans once, after the whole stream (a quiet period longer than its ingest), with the
current-practice allocator, whose plans depend only on the state: the reference plans once too, as of
the same day.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.bootstrap import bootstrap
from engine.settings import EngineSettings
from simulator import GeneratorParams, generate
from streams.kafka_io import Routed, plan_file, produce
from tests.faults.harness import (Report, canonical_hash, compare_outbound, differing_tables, interleave, outbound_ids,
                                  poison, state, with_duplicates_and_reordering)
from tests.support.polling import wait_until
from tests.support.service import (WorkerProcess, create_topics, embedded_state, engine_settings, read_all, service_env,
                                   stream_settings, wait_settled)

pytestmark = pytest.mark.slow

WEEKS = int(os.environ.get("COHORTPLAN_FAULTS_WEEKS", "16"))
SCALE = float(os.environ.get("COHORTPLAN_FAULTS_SCALE", "0.3"))
# How far in event time a reordered event may move behind the next event of its key ("none": any distance,
# which today ends in dead letters — docs/RELIABILITY.md, "Known gaps").
_WITHIN = os.environ.get("COHORTPLAN_FAULTS_REORDER_WITHIN_H", "1")
REORDER_WITHIN = None if _WITHIN == "none" else timedelta(hours=float(_WITHIN))
DEAD_LETTER_ALERT = ("events.dead_lettered",)  # raised by the poison itself: the one difference expected
# The reasons of the four poison kinds (tests/faults/harness.py: poison), in the order they are made.
POISON_REASONS = ("bad JSON", "invalid referral.created payload", "unknown event_type", "message too large")


@pytest.fixture(scope="module")
def clean_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "events.jsonl"
    generate(GeneratorParams(weeks=WEEKS, scale=SCALE, seed=11), path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _page(port: int, path: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.HTTPError, OSError):  # 503 (not ready) or not serving yet
        return None


class Run:
    """One worker on its own topics and database: :meth:`feed` a stream, then it runs until everything is
    applied and planned, and stops."""

    def __init__(self, broker, tmp_path: Path) -> None:
        self.tmp_path, self.port = tmp_path, _free_port()
        self.env = service_env(broker.bootstrap, f"sqlite:///{tmp_path}/worker.db",
                               COHORTPLAN_ALLOCATOR="current-practice", COHORTPLAN_REPLAN_QUIET_S="10",
                               COHORTPLAN_WEB_ENABLED="true", COHORTPLAN_WEB_PORT=str(self.port))
        self.settings = stream_settings(self.env)
        create_topics(self.settings)

    def clean(self, path: Path) -> list[Routed]:
        routed, skipped = plan_file(path, self.settings)
        assert not skipped, skipped[:3]
        return routed

    def feed(self, stream: list[Routed], timeout: float = 300) -> None:
        asyncio.run(produce(stream, self.settings.bootstrap_servers))
        worker = WorkerProcess(self.env, self.tmp_path / "worker.log").start()
        try:
            wait_until(lambda: _page(self.port, "/ready"), timeout=timeout, message=worker.log_tail)
            wait_settled(self.env["COHORTPLAN_DATABASE_URL"], len(stream), [worker], timeout)
            self.health = _page(self.port, "/health")
        finally:
            worker.stop()
        self.tables = state(self.env["COHORTPLAN_DATABASE_URL"])

    def plan_day(self) -> date:
        plans = self.tables["plans"]
        assert len(plans) == 1, f"the worker planned {len(plans)} times: the reference plans once"
        return date.fromisoformat(plans[0]["as_of"])


def _compare(run: Run, clean_file: Path, name: str, events_in: int, record_property,
             drop_alert_kinds: tuple[str, ...] = ()) -> Report:
    reference = embedded_state(clean_file, f"sqlite:///{run.tmp_path}/reference.db", engine_settings(run.env),
                               run.plan_day())
    received = read_all(run.settings, run.settings.topic_allocations)
    missing, doubled, extra = compare_outbound(outbound_ids(reference), received)
    ingest = run.health["ingest"]
    history = differing_tables(run.tables, reference, names=("referral_history",)).get("referral_history", 0)
    report = Report(name, events_in, ingest["applied"], ingest["duplicates"] + ingest["redelivered"],
                    ingest["dead_lettered"], missing, doubled, extra, history)
    print(report.line())
    record_property("fault_report", report.line())
    assert canonical_hash(run.tables, drop_alert_kinds) == canonical_hash(reference, drop_alert_kinds), \
        (report, differing_tables(run.tables, reference, drop_alert_kinds))
    assert (missing, doubled, extra) == (0, 0, 0), report
    assert len(run.tables["processed_events"]) == len(reference["processed_events"])
    return report


def test_scenario_1_duplicates_and_reordering_within_a_key_change_nothing(kafka_broker, clean_file, tmp_path,
                                                                            record_property):
    run = Run(kafka_broker, tmp_path)
    clean = run.clean(clean_file)
    stream = with_duplicates_and_reordering(clean, random.Random(16), duplicates=0.10, reordered=0.05,
                                            within=REORDER_WITHIN)
    copies = len(stream) - len(clean)
    assert copies == len(clean) // 10
    run.feed(stream)
    report = _compare(run, clean_file, "1: 10% duplicates, 5% reordered", len(stream), record_property)
    assert report.duplicates_dropped == copies
    assert report.dead_letters == 0 and _dead_letter_rows(run) == []


def test_scenario_5_poison_messages_are_dead_letters_with_reason_and_position_and_nothing_else_changes(
        kafka_broker, clean_file, tmp_path, record_property):
    rng = random.Random(5)
    run = Run(kafka_broker, tmp_path)
    clean = run.clean(clean_file)
    bad = poison(run.settings, max(4, len(clean) // 100), rng)
    run.feed(interleave(clean, [message for message, _ in bad], rng))
    report = _compare(run, clean_file, "5: 1% poison", len(clean) + len(bad), record_property, DEAD_LETTER_ALERT)
    assert report.dead_letters == len(bad)

    # Where each poison message sits on its topic, found again by its key.
    inbound = read_all(run.settings, *run.settings.inbound_topics)
    positions = {m.key: (m.topic, m.partition, m.offset) for m in inbound if (m.key or "").startswith("poison-")}
    expected = {positions[message.key.decode()]: event_id for message, event_id in bad}
    assert len(expected) == len(bad)
    letters = [m.json()["payload"] for m in read_all(run.settings, run.settings.topic_deadletter)]
    on_topic = {(p["topic"], p["partition"], p["offset"]): p for p in letters}
    assert {k: p["event_id"] for k, p in on_topic.items()} == expected
    assert all(p["reason"] for p in letters)
    rows = _dead_letter_rows(run)
    assert {(r["origin"], r["partition"], r["offset"]): r["event_id"] for r in rows} == expected
    kinds = Counter(next((k for k in POISON_REASONS if r["reason"].startswith(k)), r["reason"][:80]) for r in rows)
    assert kinds == {k: len(bad) // 4 + (i < len(bad) % 4) for i, k in enumerate(POISON_REASONS)}, kinds


def _dead_letter_rows(run: Run) -> list[dict]:
    q = bootstrap(EngineSettings(database_url=run.env["COHORTPLAN_DATABASE_URL"]), run_migrations=False).queries()
    try:
        return q.dead_letters(limit=10_000)
    finally:
        q.close()
