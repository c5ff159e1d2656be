"""A fault scenario's run: workers (real subprocesses) on a real broker, fed one stream, driven to the end while
a fault is injected, then compared with a clean embedded replay of the same events (issue 16 §1).

:class:`Run` owns one service's topics, consumer group and database and the workers it starts; every worker
serves ``/health`` and ``/ready`` on its own port. A worker's counters live as long as its process, so the
run reads each process's ``/health`` before it kills or stops it and adds them up (:meth:`Run.counters`).
:func:`compare` builds the scenario's :class:`~tests.faults.harness.Report` and asserts what every scenario
promises: the reference's state hash, every outbound decision id received, none that the reference never made.

Sizes: ``COHORTPLAN_FAULTS_WEEKS`` and ``COHORTPLAN_FAULTS_SCALE`` (small by default; docs/RELIABILITY.md has
the full-size commands and figures).
"""
from __future__ import annotations

import asyncio
import json
import os
import socket
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

from engine.bootstrap import bootstrap
from engine.settings import EngineSettings
from streams.kafka_io import Routed, plan_file, produce
from tests.faults.harness import Report, canonical_hash, compare_outbound, differing_tables, outbound_ids, state
from tests.support.polling import wait_until
from tests.support.service import (WorkerProcess, create_topics, embedded_state, engine_settings, progress, read_all,
                                   service_env, stream_settings, wait_settled)

WEEKS = int(os.environ.get("COHORTPLAN_FAULTS_WEEKS", "16"))
SCALE = float(os.environ.get("COHORTPLAN_FAULTS_SCALE", "0.3"))
# How long a run may take to settle (the full sizes by hand on a busy machine want more).
TIMEOUT_S = float(os.environ.get("COHORTPLAN_FAULTS_TIMEOUT_S", "300"))
COUNTERS = ("applied", "duplicates", "redelivered", "dead_lettered", "readmitted", "stale", "received", "isolated",
            "retries")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page(port: int, path: str) -> dict | None:
    """A worker's page as JSON, or None (503 not ready, or not serving: starting, killed, stopped)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.HTTPError, OSError, ValueError):
        return None


class Run:
    """One service on its own topics and database: :meth:`feed` a stream to its workers, then they run until
    everything is applied, planned and relayed, and stop. ``database_url`` defaults to a SQLite file; ``env``
    overrides the service's settings (COHORTPLAN_*)."""

    def __init__(self, broker, tmp_path: Path, database_url: str | None = None, **env: object) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url or f"sqlite:///{tmp_path}/worker.db"
        self.env = service_env(broker.bootstrap, self.database_url,
                               **{"COHORTPLAN_ALLOCATOR": "current-practice", "COHORTPLAN_REPLAN_QUIET_S": "10",
                                  "COHORTPLAN_WEB_ENABLED": "true", **env})
        self.settings = stream_settings(self.env)
        self.workers: list[WorkerProcess] = []
        self.ports: dict[int, int] = {}                    # id(worker) → its web port
        self._counters: dict[tuple[int, int], dict] = {}   # (id(worker), start) → its last /health ingest counters
        self.health: dict | None = None                    # the last worker's /health at the end
        create_topics(self.settings)

    def clean(self, path: Path) -> list[Routed]:
        routed, skipped = plan_file(path, self.settings)
        assert not skipped, skipped[:3]
        return routed

    # workers ---------------------------------------------------------------------------------------------
    def worker(self) -> WorkerProcess:
        """Start one more worker (its own web port and log)."""
        port = free_port()
        worker = WorkerProcess({**self.env, "COHORTPLAN_WEB_PORT": str(port)},
                               self.tmp_path / f"worker{len(self.workers)}.log")
        self.workers.append(worker)
        self.ports[id(worker)] = port
        return worker.start()

    def port(self, worker: WorkerProcess) -> int:
        return self.ports[id(worker)]

    def scrape(self, worker: WorkerProcess) -> dict | None:
        """The worker's /health now; its ingest counters are kept as this process's latest."""
        health = page(self.port(worker), "/health") if worker.alive() else None
        if health is not None:
            self._counters[(id(worker), worker.starts)] = health["ingest"]
        return health

    def kill(self, worker: WorkerProcess) -> None:
        """SIGKILL the worker (its counters read just before: what it did after that read is not counted)."""
        self.scrape(worker)
        worker.kill()

    def ready(self, worker: WorkerProcess) -> dict | None:
        return page(self.port(worker), "/ready")

    def counters(self) -> Counter:
        """The ingest counters of every worker process this run started, added up."""
        total: Counter = Counter()
        for ingest in self._counters.values():
            total.update({k: ingest.get(k, 0) for k in COUNTERS})
        return total

    def progress(self):
        return progress(self.database_url)

    # the run ---------------------------------------------------------------------------------------------
    def feed(self, stream: list[Routed], timeout: float = TIMEOUT_S, workers: int = 1, during=None, settled=None,
             expected: int | None = None) -> None:
        """Produce ``stream``, start ``workers``, call ``during(run)`` (the fault: it may kill, restart, stop
        the broker, produce more…) or else wait until the first worker is ready, wait until ``expected``
        messages (default: the stream's) are applied, every region planned and the outbox relayed, call
        ``settled(run)`` while the workers still run, read their counters, and stop them."""
        asyncio.run(produce(stream, self.settings.bootstrap_servers))
        started = [self.worker() for _ in range(workers)]
        try:
            if during is not None:
                during(self)
            else:
                wait_until(lambda: self.ready(started[0]), timeout=timeout, message=started[0].log_tail)
            wait_settled(self.database_url, expected or len(stream), self.workers, timeout)
            if settled is not None:
                settled(self)
            for worker in self.workers:
                if worker.alive():
                    self.health = self.scrape(worker) or self.health
        finally:
            for worker in self.workers:
                worker.stop()
        self.tables = state(self.database_url)

    def plan_day(self) -> date:
        plans = self.tables["plans"]
        assert len(plans) == 1, f"the worker planned {len(plans)} times: the reference plans once"
        return date.fromisoformat(plans[0]["as_of"])

    def log_tails(self) -> str:
        return "\n".join(w.log_tail(40) for w in self.workers)


def compare(run: Run, clean_file: Path, name: str, events_in: int, record_property,
            drop_alert_kinds: tuple[str, ...] = (), redelivery: bool = False) -> Report:
    """The scenario's report against a clean embedded replay planned as of the worker's day; asserts the same
    state hash, no outbound decision id missing or extra, and the same events processed. An id received twice
    fails unless ``redelivery`` (a worker killed between sending and marking sent sends it again): then every
    copy of it must be the same message, byte for byte."""
    reference = embedded_state(clean_file, f"sqlite:///{run.tmp_path}/reference.db", engine_settings(run.env),
                               run.plan_day())
    received = read_all(run.settings, run.settings.topic_allocations)
    missing, doubled, extra = compare_outbound(outbound_ids(reference), received)
    ingest = run.counters()
    history = differing_tables(run.tables, reference, names=("referral_history",)).get("referral_history", 0)
    report = Report(name, events_in, ingest["applied"], ingest["duplicates"] + ingest["redelivered"],
                    ingest["dead_lettered"] - ingest["readmitted"], missing, doubled, extra, history,
                    ingest["readmitted"])
    print(report.line())
    record_property("fault_report", report.line())
    assert canonical_hash(run.tables, drop_alert_kinds) == canonical_hash(reference, drop_alert_kinds), \
        (report, differing_tables(run.tables, reference, drop_alert_kinds))
    assert (missing, extra) == (0, 0), report
    if redelivery:
        copies: dict[str, set[bytes]] = {}
        for message in received:
            copies.setdefault(message.message_id, set()).add(message.value)
        assert all(len(values) == 1 for values in copies.values()), "one message id sent with two contents"
    else:
        assert doubled == 0, report
    assert len(run.tables["processed_events"]) == len(reference["processed_events"])
    return report


def dead_letter_rows(run: Run) -> list[dict]:
    q = bootstrap(EngineSettings(database_url=run.database_url), run_migrations=False).queries()
    try:
        return q.dead_letters(limit=10_000)
    finally:
        q.close()
