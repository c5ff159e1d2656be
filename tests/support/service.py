"""Run cohortplan workers as real subprocesses against a real broker, and read what they published.

Each test gets its own topics, consumer group and database (names carry a random suffix), so tests
share one broker without seeing each other's messages.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from engine.bootstrap import bootstrap
from engine.services.ingest import applied_offsets, dirty_regions
from engine.services.planning import planned_regions
from engine.settings import EngineSettings
from streams.kafka_io import Received, plan_file, produce, read_topics
from streams.settings import StreamSettings

DECISIONS = ("allocation.made", "allocation.changed", "allocation.removed", "cohort.proposed")


def service_env(bootstrap_servers: str, database_url: str, suffix: str | None = None, **extra: object) -> dict:
    """Settings for one isolated service under test (COHORTPLAN_* variables)."""
    suffix = suffix or uuid.uuid4().hex[:8]
    env = {
        "COHORTPLAN_BROKER_URL": f"kafka://{bootstrap_servers}",
        "COHORTPLAN_DATABASE_URL": database_url,
        "COHORTPLAN_APP_ID": f"cohortplan-{suffix}",
        "COHORTPLAN_PARTITIONS": "3",
        "COHORTPLAN_WEB_ENABLED": "false",
        "COHORTPLAN_SOLVER_TIME_LIMIT_S": "2",
        "COHORTPLAN_REPLAN_QUIET_S": "6",
        "COHORTPLAN_REPLAN_MAX_DELAY_S": "600",
    }
    for name in ("sentences", "referrals", "delivery", "allocations", "alerts", "reports", "deadletter", "replan"):
        env[f"COHORTPLAN_TOPIC_{name.upper()}"] = f"t{suffix}.{name}"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def stream_settings(env: dict) -> StreamSettings:
    return StreamSettings(**{k.removeprefix("COHORTPLAN_").lower(): v for k, v in env.items()
                             if k.removeprefix("COHORTPLAN_").lower() in StreamSettings.model_fields})


def engine_settings(env: dict, **overrides) -> EngineSettings:
    values = {k.removeprefix("COHORTPLAN_").lower(): v for k, v in env.items()
              if k.removeprefix("COHORTPLAN_").lower() in EngineSettings.model_fields}
    return EngineSettings(**{**values, **overrides})


@dataclass
class WorkerProcess:
    """``python -m streams worker`` with the given environment; its log is kept for failures."""

    env: dict
    log_path: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> "WorkerProcess":
        self.starts += 1
        handle = self.log_path.open("a")
        handle.write(f"\n===== start {self.starts} at {time.strftime('%H:%M:%S')} =====\n")
        handle.flush()
        self.process = subprocess.Popen([sys.executable, "-m", "streams", "worker", "--loglevel", "info"],
                                        env={**os.environ, "COHORTPLAN_DATA_DIR": str(self.log_path.parent / "faust"),
                                             **self.env},
                                        cwd=self.log_path.parent, stdout=handle, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (its CP-SAT pool included)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, n: int = 80) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        return "\n".join(lines[-n:])


@dataclass
class Progress:
    applied_offsets: dict[tuple[str, int], int]
    backlog: int
    dirty: list[str]
    planned: dict[str, date]

    @property
    def caught_up(self) -> int:
        return sum(v + 1 for v in self.applied_offsets.values())


_MIGRATED: set[str] = set()


def progress(database_url: str) -> Progress:
    engine = bootstrap(EngineSettings(database_url=database_url), run_migrations=database_url not in _MIGRATED)
    _MIGRATED.add(database_url)
    with engine.database.uow() as uow:
        offsets, dirty, planned = applied_offsets(uow), dirty_regions(uow), planned_regions(uow)
    q = engine.queries()
    try:
        return Progress(offsets, q.outbox_backlog(), dirty, planned)
    finally:
        q.close()


def wait_settled(database_url: str, expected_messages: int, workers: list[WorkerProcess], timeout: float = 300,
                 condition=None) -> Progress:
    """Until every inbound message is applied, every region planned and the outbox drained."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = progress(database_url)
        done = last.caught_up >= expected_messages and not last.dirty and last.planned and not last.backlog
        if done and (condition is None or condition(last)):
            return last
        if workers and not any(w.alive() for w in workers):
            raise AssertionError("every worker exited:\n" + "\n".join(w.log_tail() for w in workers))
        time.sleep(0.5)
    raise AssertionError(f"not settled after {timeout} s: {last}\n" + "\n".join(w.log_tail() for w in workers))


def create_topics(settings: StreamSettings) -> None:
    from streams.topics import ensure_topics
    asyncio.run(ensure_topics(settings.bootstrap_servers, settings.all_topics, settings.partitions))


def send_file(path: Path, settings: StreamSettings) -> int:
    routed, skipped = plan_file(path, settings)
    assert not skipped, skipped[:5]
    asyncio.run(produce(routed, settings.bootstrap_servers))
    return len(routed)


def read_all(settings: StreamSettings, *topics: str, idle_s: float = 3.0) -> list[Received]:
    return asyncio.run(read_topics(topics, settings.bootstrap_servers, idle_s=idle_s))


@dataclass
class Decisions:
    """What a service published on the allocations topic, deduplicated by message id."""

    messages: list[Received]
    unique: dict[str, Received] = field(default_factory=dict)
    raw_duplicates: int = 0

    def __post_init__(self) -> None:
        for m in self.messages:
            assert m.message_id, f"message without a message_id header at {m.partition}:{m.offset}"
            if m.message_id in self.unique:
                self.raw_duplicates += 1
                assert self.unique[m.message_id].value == m.value, "one message id, two contents"
            else:
                self.unique[m.message_id] = m

    def of(self, *event_types: str) -> list[Received]:
        return [m for m in self.unique.values() if m.event_type in event_types]

    def decision_set(self) -> set[tuple]:
        """Decisions as comparable content (the message ids and payloads, not delivery positions)."""
        return {(m.message_id, m.event_type, json.dumps(m.json()["payload"], sort_keys=True))
                for m in self.of(*DECISIONS)}

    def final_allocations(self) -> dict[str, str]:
        """referral → cohort after folding every decision in plan order."""
        placed: dict[str, str] = {}
        events = sorted((m.json() for m in self.of("allocation.made", "allocation.changed", "allocation.removed")),
                        key=lambda e: e["payload"]["plan_version"])
        for e in events:
            p = e["payload"]
            if e["event_type"] == "allocation.removed":
                placed.pop(p["referral_id"], None)
            else:
                placed[p["referral_id"]] = p["cohort_id"]
        return placed

    def counts(self) -> Counter:
        return Counter(m.event_type for m in self.unique.values())


def embedded_state(path: Path, database_url: str, settings: EngineSettings, as_of: date) -> dict[str, list[dict]]:
    """The embedded path on the same file: replay in-process, then one plan per changed region as of ``as_of``;
    the canonical state it ends in (:meth:`Queries.canonical_state`)."""
    from engine.services.replay import Replay, read_lines
    engine = bootstrap(settings.model_copy(update=dict(database_url=database_url, solver_in_process=True)))
    engine.load_region()
    Replay(engine.ingestor).run(read_lines(path))
    planner = engine.planner()
    for region in planner.dirty_regions():
        planner.plan(region, as_of)
    q = engine.queries()
    try:
        return q.canonical_state()
    finally:
        q.close()


def embedded_reference(path: Path, database_url: str, settings: EngineSettings, as_of: date) -> dict[str, str]:
    """The embedded path's allocations: referral → cohort."""
    return {row["referral_id"]: row["cohort_id"] for row in embedded_state(path, database_url, settings, as_of)["allocations"]}
