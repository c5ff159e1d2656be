"""What a deployment needs of a worker on a real broker (issue 16): its children die with it, ``/ready`` waits
for partitions and catch-up, its first log lines name the database and broker without secrets, and
``cohortplan topics create`` declares the topics before any producer."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator import GeneratorParams, generate
from streams.cli import app
from streams.kafka_io import Routed, produce
from tests.support.polling import wait_until
from tests.support.service import (WorkerProcess, create_topics, progress, read_all, send_file, service_env,
                                   stream_settings)

runner = CliRunner()


@pytest.fixture(scope="module")
def small_region(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ops-region") / "events.jsonl"
    generate(GeneratorParams(weeks=10, scale=0.2, seed=3), path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, dict] | None:
    """Status and JSON of a worker page; None while the web server is not up."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None


def _process(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a live process; None once it is gone or a zombie nobody reaps."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return None if fields[0] in ("Z", "X") else (int(fields[1]), fields[0], fields[19])


def _descendants(root: int) -> dict[int, str]:
    """Every live descendant of ``root``: pid → start time (so a reused pid is not taken for it)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _process(int(entry.name))) is not None:
            parents[int(entry.name)] = info
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, started) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int, started: str) -> bool:
    info = _process(pid)
    return info is not None and info[2] == started


def test_a_sigkilled_worker_leaves_no_solver_process_or_resource_tracker_running(kafka_broker, small_region,
                                                                                  tmp_path):
    env = service_env(kafka_broker.bootstrap, f"sqlite:///{tmp_path}/kill.db", COHORTPLAN_ALLOCATOR="cpsat",
                      COHORTPLAN_SOLVER_TIME_LIMIT_S="1", COHORTPLAN_REPLAN_QUIET_S="1")
    settings = stream_settings(env)
    create_topics(settings)
    send_file(small_region, settings)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        # The pool is made on the first plan: wait for its process (and the tracker it brings) to exist.
        children = wait_until(
            lambda: (found := _descendants(worker.process.pid))
            and any("spawn_main" in _cmdline(pid) for pid in found) and found,
            timeout=240, interval=0.5, message=worker.log_tail)
        commands = {pid: _cmdline(pid) for pid in children}
        assert any("resource_tracker" in c for c in commands.values()), commands
        os.kill(worker.process.pid, signal.SIGKILL)  # the worker alone, as the OOM killer or `kill -9` would
        worker.process.wait(timeout=30)
        wait_until(lambda: not any(_alive(pid, started) for pid, started in children.items()), timeout=30,
                   interval=0.2, message=lambda: f"still running after their parent was killed: "
                   f"{ {pid: commands[pid] for pid, s in children.items() if _alive(pid, s)} }")
    finally:
        if worker.process.poll() is None:
            worker.kill()


def test_ready_only_with_partitions_and_caught_up_and_first_lines_name_database_and_broker(kafka_broker, small_region,
                                                                                          tmp_path):
    port = _free_port()
    env = service_env(kafka_broker.bootstrap, f"sqlite:///{tmp_path}/ready.db", COHORTPLAN_ALLOCATOR="current-practice",
                      COHORTPLAN_WEB_ENABLED="true", COHORTPLAN_WEB_PORT=str(port), COHORTPLAN_READY_MAX_LAG="0")
    settings = stream_settings(env)
    create_topics(settings)
    n = send_file(small_region, settings)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    seen: list[tuple[int, dict]] = []

    def ready() -> dict | None:
        answer = _get(port, "/ready")
        if answer is not None:
            seen.append(answer)
        return answer[1] if answer is not None and answer[0] == 200 else None

    try:
        answer = wait_until(ready, timeout=240, interval=0.05, message=worker.log_tail)
        applied = progress(env["COHORTPLAN_DATABASE_URL"]).caught_up
        health = _get(port, "/health")
    finally:
        worker.stop()
    assert applied == n, f"ready with {applied} of {n} messages applied"
    assert answer["ready"] and answer["not_applied"] == 0 and answer["inbound_partitions"] == 3 * 3
    assert health is not None and health[1]["ready"] is True
    not_ready = [body for status, body in seen if status == 503]
    assert not_ready and not any(body["ready"] for body in not_ready), seen[:3]
    assert all(status in (200, 503) for status, _ in seen)

    lines = worker.log_path.read_text().split("===== start 1", 1)[1].splitlines()[1:3]
    assert f"database sqlite:///{tmp_path}/ready.db" in lines[0], lines
    assert f"broker kafka://{kafka_broker.bootstrap}, consumer group {settings.app_id}" in lines[1], lines


def test_topics_create_declares_every_topic_once_with_its_partition_count(kafka_broker):
    env = service_env(kafka_broker.bootstrap, "sqlite:///unused.db", COHORTPLAN_PARTITIONS="4")
    settings = stream_settings(env)
    first = runner.invoke(app, ["topics", "create"], env=env)
    assert first.exit_code == 0, first.output
    assert first.output.count(": created, 4 partitions") == len(settings.all_topics) == 8
    again = runner.invoke(app, ["topics", "create"], env=env)
    assert again.exit_code == 0 and again.output.count(": exists, 4 partitions") == 8, again.output
    other = runner.invoke(app, ["topics", "create", "--partitions", "2"], env=env)
    assert other.exit_code == 2 and "different partition count" in other.output, other.output


def test_produce_at_a_rate_sends_every_message_in_order_no_sooner_than_its_schedule(kafka_broker):
    """``produce(rate=…)`` (the stream bench's latency load) paces with :class:`engine.services.replay.Pace`:
    message n leaves no sooner than n / rate seconds after the first, and each topic holds them all, in order."""
    settings = stream_settings(service_env(kafka_broker.bootstrap, "sqlite:///unused.db", COHORTPLAN_PARTITIONS="1"))
    create_topics(settings)
    topic = settings.inbound_topics[0]
    messages = [Routed(topic, b"X000001", json.dumps({"n": n}).encode()) for n in range(12)]
    began = time.monotonic()
    sent = asyncio.run(produce(messages, settings.bootstrap_servers, rate=100))
    elapsed = time.monotonic() - began
    assert sent == {topic: 12}
    assert elapsed >= 11 / 100  # a lower bound only: the schedule, never a speed
    assert [json.loads(m.value)["n"] for m in read_all(settings, topic)] == list(range(12))
