"""The service commands against the real broker: produce (with a bad line), worker, tail, health."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from simulator import GeneratorParams, generate
from streams.cli import app
from tests.support.service import WorkerProcess, service_env, stream_settings, wait_settled

runner = CliRunner()


def test_produce_worker_tail_and_health(kafka_broker, tmp_path):
    events = tmp_path / "events.jsonl"
    generate(GeneratorParams(weeks=10, scale=0.2, seed=3), events)
    lines = events.read_text().splitlines()
    bad = tmp_path / "with-a-bad-line.jsonl"
    bad.write_text("\n".join(lines[:3] + ["{not json"] + lines[3:]) + "\n")
    env = service_env(kafka_broker.bootstrap, f"sqlite:///{tmp_path}/cli.db", COHORTPLAN_ALLOCATOR="current-practice",
                      COHORTPLAN_REPLAN_QUIET_S="2")
    settings = stream_settings(env)

    produced = runner.invoke(app, ["produce", str(bad), "--ordered"], env=env)  # as into a running worker
    assert produced.exit_code == 1, produced.output
    assert "line 4" in produced.output and "not a JSON object" in produced.output
    assert f"sent {len(lines):,} events" in produced.output

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        wait_settled(env["COHORTPLAN_DATABASE_URL"], len(lines), [worker], timeout=240)
        health = runner.invoke(app, ["health", "--json"], env=env)
        assert health.exit_code == 0, health.output
        report = json.loads(health.output)
        assert report["lag"] == 0 and report["outbox_backlog"] == 0 and report["regions_dirty"] == []
        assert sum(p["end"] for p in report["partitions"]) == len(lines)
        assert all(p["applied"] is None or p["applied"] == p["end"] - 1 for p in report["partitions"])

        tail = runner.invoke(app, ["tail", settings.topic_allocations, "--from-beginning", "--idle", "2"], env=env)
        assert tail.exit_code == 0, tail.output
        assert "allocation.made" in tail.output and "plan.published" in tail.output
        assert "(duplicate)" not in tail.output
    finally:
        worker.stop()
    assert "Traceback" not in worker.log_tail(400)
