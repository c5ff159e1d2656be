"""Stream service throughput and latency on a real broker: raw consumer floor, worker sustained, latency.

Run by hand (never as a timed test):  .venv/bin/python bench/stream_bench.py [--repeats 3]

One process orchestrates everything on 127.0.0.1, in a temporary directory, and stops it at the end:
a Kafka 4.x broker (tests/support/kafka_broker.py), a throwaway PostgreSQL (tests/support/postgres.py,
as root) and worker subprocesses (``python -m streams worker``, tests/support/service.py). Phases:

1. **raw consumer (floor)**: the region's events are produced to fresh topics, then a plain
   ``AIOKafkaConsumer`` (no group, from earliest, ``getmany(max_records=1000)``) reads them all, decoding
   each value to text and ``json.loads``-ing it: the least any consumer does. Timed from the consumer's
   start (connect included) to the last message.
2. **worker sustained**: per database and repeat, fresh topics, group and database; everything is
   produced first, then the worker starts. The database's stored offsets (``engine_state`` rows
   ``offset:<topic>:<partition>``, written in the transaction that applied the events) are polled every
   ``--offset-poll-ms``; the rate is the events applied between the first poll that sees any and the
   poll that sees all, divided by that time (worker start-up and its first batch excluded). Re-planning
   is kept out of it: current-practice allocator, quiet period 600 s, maximum delay 3,600 s. One more
   run uses the planning defaults (CP-SAT, quiet 5 s, maximum delay 60 s) for comparison.
3. **latency at a fixed rate**: a worker is started on fresh topics and database and has applied one
   warm-up event; then ``--latency-events`` events (the region's first, in event-time order) are
   produced at ``--rate`` events/s with ``streams.kafka_io.produce(rate=...)``. A thread polls the
   database's ``processed_events`` for the ids sent and not yet seen, every ``--poll-ms``; latency =
   first poll that sees the row − the event's send time. The send time is the moment ``produce`` would
   send it (its schedule, ``start + n / rate``, or when the previous acknowledgement came back if later):
   "just before send"; the acknowledgement time is recorded too, and latency from it is reported beside.
   ``--latency-preloaded`` adds a run on a database that already holds the rest of the two years (the
   worker first catches up on all but the last N events, then the last N arrive at the rate).

Results: a rich table, the machine (CPU, load average sampled per phase) and
``bench/.cache/stream_bench.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/stream_bench.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

from engine.persistence.database import migrate
from simulator import GeneratorParams, generate
from streams.kafka_io import Routed, plan_file, produce
from tests.support.kafka_broker import KafkaBroker
from tests.support.postgres import PostgresServer
from tests.support.service import (
    WorkerProcess,
    create_topics,
    progress,
    service_env,
    stream_settings,
)

CACHE = REPO / "bench" / ".cache"
TARGET_RATE = 2000.0     # events/s sustained
TARGET_P99_MS = 250.0    # at 50 events/s
QUIET = {"COHORTPLAN_ALLOCATOR": "current-practice", "COHORTPLAN_REPLAN_QUIET_S": "600",
         "COHORTPLAN_REPLAN_MAX_DELAY_S": "3600"}
# The service's own defaults (streams/settings.py, engine/settings.py), not service_env's test values.
PLANNING_DEFAULTS = {"COHORTPLAN_ALLOCATOR": "cpsat", "COHORTPLAN_REPLAN_QUIET_S": "5",
                     "COHORTPLAN_REPLAN_MAX_DELAY_S": "60", "COHORTPLAN_SOLVER_TIME_LIMIT_S": "10"}
CLK_TCK = os.sysconf("SC_CLK_TCK")

console = Console(width=None if sys.stdout.isatty() else 140)


# machine ----------------------------------------------------------------------------------------------
def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    import aiokafka
    import faust
    import psycopg
    import sqlalchemy

    import streams
    code = Path(streams.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(code), "status", "--porcelain", "--", "engine", "streams", "solver",
                                "simulator"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {"code": str(code), "commit": commit, "code_modified": bool(dirty) if dirty is not None else None,
            "platform": platform.platform(), "cpu": cpu_model(), "cpus": os.cpu_count(), "memory_gib": round(mem / 2**30, 1),
            "python": platform.python_version(), "aiokafka": aiokafka.__version__, "faust": faust.__version__,
            "sqlalchemy": sqlalchemy.__version__, "psycopg": psycopg.__version__, "sqlite": sqlite3.sqlite_version,
            "loadavg_start": loadavg(), "started": datetime.now(UTC).isoformat(timespec="seconds")}


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu(pid: int | None) -> float:
    """User + system CPU seconds of one process (all its threads)."""
    f = _stat_fields(pid) if pid else None
    return (int(f[11]) + int(f[12])) / CLK_TCK if f else 0.0


def tree_cpu(root: int | None) -> float:
    """CPU seconds of a process and its direct children (PostgreSQL's postmaster and backends)."""
    if not root:
        return 0.0
    total = process_cpu(root)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            f = _stat_fields(int(entry.name))
            if f and int(f[1]) == root:
                total += (int(f[11]) + int(f[12])) / CLK_TCK
    return total


def system_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuWindow:
    """CPU used by the worker, the broker, PostgreSQL and the whole machine between two points."""

    pids: dict[str, int | None]
    postmaster: int | None
    start: dict[str, float] = field(default_factory=dict)
    t0: float = 0.0

    def _sample(self) -> dict[str, float]:
        out = {name: process_cpu(pid) for name, pid in self.pids.items()}
        out["postgres"] = tree_cpu(self.postmaster)
        out["machine"] = system_cpu()[0]
        return out

    def begin(self) -> None:
        self.t0, self.start = time.monotonic(), self._sample()

    def end(self) -> dict[str, float]:
        wall, now = time.monotonic() - self.t0, self._sample()
        return {f"{name}_cores": round((now[name] - self.start[name]) / wall, 2) for name in now} if wall > 0 else {}


# helpers ----------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    data = sorted(values)
    if not data:
        return float("nan")
    k = (len(data) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def event_id(message: Routed) -> str:
    return json.loads(message.value)["event_id"]


def progress_bar() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                    TimeElapsedColumn(), console=console, transient=False)


class StateReader:
    """A dedicated autocommit connection to the service's database (the worker's own writes are untouched)."""

    def __init__(self, url: str) -> None:
        migrate(url)  # the schema exists before the worker starts (its own migration is then a no-op)
        self.engine = create_engine(url, poolclass=NullPool)
        self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._offsets = text("SELECT value FROM engine_state WHERE name LIKE 'offset:%'")
        self._seen = text("SELECT event_id FROM processed_events WHERE event_id IN :ids").bindparams(
            bindparam("ids", expanding=True))

    def applied(self) -> int:
        """What ``tests.support.service.progress(url).caught_up`` counts: Σ (stored offset + 1)."""
        return sum(int(v) + 1 for (v,) in self.conn.execute(self._offsets))

    def processed(self, ids: list[str]) -> list[str]:
        return [r[0] for r in self.conn.execute(self._seen, {"ids": ids})]

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.broker: KafkaBroker | None = None
        self.pg: PostgresServer | None = None
        self.workers: list[WorkerProcess] = []
        self.results: dict[str, Any] = {"machine": machine_info(), "config": vars(args).copy(), "phases": {}}
        self.results["config"]["events"] = str(args.events) if args.events else None

    # infrastructure -------------------------------------------------------------------------------
    def start(self) -> None:
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refused readiness probes while it starts
        with console.status("starting the Kafka broker"):
            self.broker = KafkaBroker(self.work / "kafka")
            self.broker.fetch()
            self.broker.start()
        logging.getLogger("aiokafka").setLevel(logging.ERROR)
        console.print(f"Kafka {self.broker.version} at {self.broker.bootstrap} (started in {self.broker.start_seconds:.1f} s)")
        if "postgres" in self.databases:
            with console.status("starting PostgreSQL"):
                self.pg = PostgresServer().start()
            with self.pg._admin_connect() as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
            self.results["machine"]["postgres"] = version
            console.print(f"PostgreSQL {version} on port {self.pg.port} (fsync=off, synchronous_commit=off, "
                          "full_page_writes=off: tests/support/postgres.py)")
        self.results["machine"]["kafka"] = self.broker.version

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        if self.pg is not None:
            self.pg.stop()
        if self.broker is not None:
            self.broker.stop()

    @property
    def databases(self) -> list[str]:
        return ["postgres", "sqlite"] if self.args.database == "both" else [self.args.database]

    def new_database(self, kind: str, name: str) -> str:
        if kind == "postgres":
            assert self.pg is not None
            return self.pg.create_database(name)
        return f"sqlite:///{self.work}/{name}.db"

    def drop_database(self, kind: str, name: str) -> None:
        if kind == "postgres" and self.pg is not None:
            self.pg.drop_database(name)

    def postmaster(self) -> int | None:
        if self.pg is None or self.pg.tmpdir is None:
            return None
        try:
            return int((self.pg.datadir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def service(self, kind: str, planning: dict[str, str], tag: str) -> tuple[str, str, dict]:
        """A fresh isolated service: database, topics (created now) and worker environment."""
        suffix = f"{tag}{uuid.uuid4().hex[:6]}"
        name = f"bench_{suffix}"
        url = self.new_database(kind, name)
        env = service_env(self.broker.bootstrap, url, suffix, COHORTPLAN_PARTITIONS=self.args.partitions,
                          COHORTPLAN_WEB_ENABLED="true", COHORTPLAN_WEB_PORT=free_port(), **planning)
        env["COHORTPLAN_DATA_DIR"] = str(self.work / "faust")  # faust's local state, in the temporary directory
        create_topics(stream_settings(env))
        return name, url, env

    def worker(self, env: dict, label: str) -> WorkerProcess:
        slug = "".join(c if c.isalnum() else "-" for c in label)
        w = WorkerProcess(env, self.work / f"worker-{len(self.workers)}-{slug}.log")
        self.workers.append(w)
        return w.start()

    def health(self, env: dict) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{env['COHORTPLAN_WEB_PORT']}/health", timeout=5) as r:
                return json.loads(r.read())
        except Exception:  # noqa: BLE001 - informational only
            return None

    def routed(self, env: dict) -> list[Routed]:
        routed, skipped = plan_file(self.events_path, stream_settings(env))
        assert not skipped, skipped[:5]
        return routed

    def produce_all(self, routed: list[Routed], env: dict, description: str) -> float:
        with progress_bar() as bar:
            task = bar.add_task(description, total=len(routed), note="")
            started = time.perf_counter()
            asyncio.run(produce(routed, stream_settings(env).bootstrap_servers,
                                progress=lambda n: bar.advance(task, n)))
            seconds = time.perf_counter() - started
            bar.update(task, note=f"{len(routed) / seconds:,.0f}/s")
        return seconds

    # phase 1 --------------------------------------------------------------------------------------
    def raw_consumer(self) -> dict:
        suffix = f"raw{uuid.uuid4().hex[:6]}"
        env = service_env(self.broker.bootstrap, "sqlite://", suffix, COHORTPLAN_PARTITIONS=self.args.partitions)
        settings = stream_settings(env)
        create_topics(settings)
        routed = self.routed(env)
        load = [loadavg()]
        produce_s = self.produce_all(routed, env, "raw: produce")
        runs = []
        with progress_bar() as bar:
            for n in range(self.args.repeats):
                task = bar.add_task(f"raw consumer (floor) {n + 1}/{self.args.repeats}", total=len(routed), note="")
                seconds = asyncio.run(self._consume(settings.inbound_topics, settings.bootstrap_servers, len(routed),
                                                    lambda k, t=task: bar.advance(t, k)))
                bar.update(task, note=f"{len(routed) / seconds:,.0f}/s")
                runs.append(seconds)
        load.append(loadavg())
        median = statistics.median(runs)
        return {"events": len(routed), "produce_s": round(produce_s, 3), "produce_rate": round(len(routed) / produce_s),
                "runs_s": [round(s, 3) for s in runs], "median_s": round(median, 3),
                "rate": round(len(routed) / median), "loadavg": load}

    @staticmethod
    async def _consume(topics, bootstrap: str, total: int, advance) -> float:
        consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        started = time.perf_counter()
        await consumer.start()
        n = 0
        try:
            while n < total:
                batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
                k = 0
                for records in batches.values():
                    for r in records:
                        json.loads(r.value.decode("utf-8"))
                        k += 1
                n += k
                advance(k)
            return time.perf_counter() - started
        finally:
            await consumer.stop()

    # phase 2 --------------------------------------------------------------------------------------
    def sustained(self, kind: str, planning: dict[str, str], label: str) -> dict:
        name, url, env = self.service(kind, planning, "s")
        routed = self.routed(env)
        total = len(routed)
        load = [loadavg()]
        self.produce_all(routed, env, f"{label}: produce")
        reader = StateReader(url)
        worker = self.worker(env, label)
        started = time.monotonic()
        window = CpuWindow({"worker": worker.process.pid, "broker": self.broker.pid}, self.postmaster())
        poll = self.args.offset_poll_ms / 1000
        first: tuple[float, int] | None = None
        samples: list[tuple[float, int]] = []
        try:
            with progress_bar() as bar:
                task = bar.add_task(label, total=total, note="starting")
                while True:
                    t = time.monotonic()
                    applied = reader.applied()
                    if applied and first is None:
                        first = (t, applied)
                        window.begin()
                        bar.update(task, note="")
                    if first is not None:
                        samples.append((round(t - first[0], 3), applied))
                    bar.update(task, completed=applied)
                    if applied >= total:
                        last = t
                        cpu = window.end()
                        break
                    if not worker.alive():
                        raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
                    if t - started > self.args.timeout:
                        raise RuntimeError(f"not caught up after {self.args.timeout} s ({applied}/{total}):\n"
                                           f"{worker.log_tail()}")
                    time.sleep(max(0.0, poll - (time.monotonic() - t)))
                seconds = last - first[0]
                bar.update(task, note=f"{(total - first[1]) / seconds:,.0f}/s")
            health = self.health(env)
        finally:
            worker.stop()
            reader.close()
        load.append(loadavg())
        check = progress(url).caught_up  # the test harness's own count, once, as a cross-check
        self.drop_database(kind, name)
        assert check == total, (check, total)
        ingest = (health or {}).get("ingest", {})
        return {"database": kind, "planning": planning["COHORTPLAN_ALLOCATOR"], "events": total,
                "startup_s": round(first[0] - started, 2), "first_applied": first[1], "window_s": round(seconds, 3),
                "rate": round((total - first[1]) / seconds), "rate_all_events": round(total / seconds),
                "cpu": cpu, "loadavg": load, "batches": ingest.get("batches"),
                "mean_batch": round(ingest["received"] / ingest["batches"]) if ingest.get("batches") else None,
                "dead_lettered": ingest.get("dead_lettered"), "parked": ingest.get("parked"),
                "plans": (health or {}).get("plans"), "loop_max_gap_s": (health or {}).get("loop", {}).get("max_gap_s"),
                "samples": samples}

    # phase 3 --------------------------------------------------------------------------------------
    def latency(self, kind: str, preloaded: bool) -> dict:
        label = f"latency {kind}{' preloaded' if preloaded else ''}"
        name, url, env = self.service(kind, QUIET, "l")
        routed = self.routed(env)
        n = self.args.latency_events
        if preloaded:
            warm, timed = routed[:-n], routed[-n:]
        else:
            warm, timed = routed[:1], routed[1:1 + n]
        load = [loadavg()]
        reader = StateReader(url)
        worker = self.worker(env, label)
        started = time.monotonic()
        try:
            # Warm-up: the worker has joined and applied everything before the timed events.
            self.produce_all(warm, env, f"{label}: warm-up")
            with console.status(f"{label}: waiting for the worker to apply the {len(warm):,} warm-up event(s)"):
                while reader.applied() < len(warm):
                    if not worker.alive():
                        raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
                    if time.monotonic() - started > self.args.timeout:
                        raise RuntimeError(f"warm-up not applied after {self.args.timeout} s:\n{worker.log_tail()}")
                    time.sleep(0.05)
                ready_s = time.monotonic() - started
                time.sleep(2.0)  # let the warm-up's re-plan request and offset commits pass
            window = CpuWindow({"worker": worker.process.pid, "broker": self.broker.pid}, self.postmaster())
            poller = VisibilityPoller(reader, self.args.poll_ms / 1000)
            ids = [event_id(m) for m in timed]
            pulled: list[float] = []
            acked: list[float] = []

            def messages():
                for i, m in enumerate(timed):
                    poller.watch(ids[i])
                    pulled.append(time.monotonic())
                    yield m

            window.begin()
            poller.start()
            with progress_bar() as bar:
                task = bar.add_task(f"{label}: {self.args.rate:g} events/s", total=n, note="")

                def on_ack(k: int) -> None:
                    now = time.monotonic()
                    acked.extend([now] * k)
                    bar.advance(task, k)
                    if len(acked) % 50 == 0:
                        bar.update(task, note=f"{len(poller.visible)} visible")

                asyncio.run(produce(messages(), stream_settings(env).bootstrap_servers, progress=on_ack, rate=self.args.rate))
                drain_until = time.monotonic() + 30
                while poller.outstanding() and time.monotonic() < drain_until:
                    time.sleep(0.05)
                bar.update(task, note=f"{len(poller.visible)} visible")
            poller.stop()
            cpu = window.end()
            health = self.health(env)
        finally:
            worker.stop()
            reader.close()
        load.append(loadavg())
        self.drop_database(kind, name)
        # produce(rate=r) sends message i at start + i / r, or right after message i-1's ack if that is later;
        # `start` is taken just before the first message is pulled.
        sent = [max(pulled[i], pulled[0] + i / self.args.rate) for i in range(n)]
        lat = [(poller.visible[ids[i]] - sent[i]) * 1000 for i in range(n) if ids[i] in poller.visible]
        lat_ack = [(poller.visible[ids[i]] - acked[i]) * 1000 for i in range(n) if ids[i] in poller.visible]
        ack = [(acked[i] - sent[i]) * 1000 for i in range(n)]
        achieved = (n - 1) / (sent[-1] - sent[0]) if n > 1 else float("nan")

        def summary(xs: list[float]) -> dict:
            return {"p50": round(percentile(xs, 50), 1), "p95": round(percentile(xs, 95), 1),
                    "p99": round(percentile(xs, 99), 1), "max": round(max(xs), 1), "mean": round(statistics.fmean(xs), 1)}

        ingest = (health or {}).get("ingest", {})
        return {"database": kind, "preloaded": preloaded, "warm_events": len(warm), "events": n, "seen": len(lat),
                "missing": n - len(lat), "rate_target": self.args.rate, "rate_achieved": round(achieved, 2),
                "ready_s": round(ready_s, 1), "poll_ms": self.args.poll_ms,
                "poll_query_ms": {"p50": round(percentile(poller.query_s, 50) * 1000, 2),
                                  "p99": round(percentile(poller.query_s, 99) * 1000, 2)},
                "latency_ms": summary(lat), "latency_from_ack_ms": summary(lat_ack), "produce_ack_ms": summary(ack),
                "cpu": cpu, "loadavg": load, "batches": ingest.get("batches"),
                "loop_max_gap_s": (health or {}).get("loop", {}).get("max_gap_s"),
                "latencies_ms": [round(x, 1) for x in lat]}

    # run --------------------------------------------------------------------------------------------
    def run(self) -> None:
        a, phases = self.args, self.results["phases"]
        if a.events:
            self.events_path = a.events
        else:
            self.events_path = self.work / "events.jsonl"
            with console.status(f"generating the default region ({a.weeks} weeks, seed {a.seed})"):
                generate(GeneratorParams(weeks=a.weeks, seed=a.seed), self.events_path)
        self.start()
        phases["raw"] = raw = self.raw_consumer()
        console.print(f"raw consumer floor: {raw['rate']:,} events/s (runs {raw['runs_s']} s)")
        phases["sustained"] = []
        for kind in self.databases:
            for i in range(a.repeats):
                r = self.sustained(kind, QUIET, f"worker {kind} {i + 1}/{a.repeats}")
                console.print(f"  {kind} run {i + 1}: {r['rate']:,} events/s over {r['window_s']} s "
                              f"(start-up {r['startup_s']} s, {r['batches']} batches, cpu {r['cpu']})")
                phases["sustained"].append(r)
        if a.planning_run:
            kind = self.databases[0]
            r = self.sustained(kind, PLANNING_DEFAULTS, f"worker {kind} planning defaults")
            console.print(f"  {kind} with planning defaults: {r['rate']:,} events/s, plans {r['plans']}")
            phases["sustained_planning_defaults"] = r
        phases["latency"] = []
        for kind in self.databases:
            r = self.latency(kind, preloaded=False)
            console.print(f"  latency {kind}: {r['latency_ms']} ({r['seen']}/{r['events']} seen)")
            phases["latency"].append(r)
        if a.latency_preloaded:
            kind = self.databases[0]
            r = self.latency(kind, preloaded=True)
            console.print(f"  latency {kind} preloaded: {r['latency_ms']} ({r['seen']}/{r['events']} seen)")
            phases["latency"].append(r)
        self.results["machine"]["loadavg_end"] = loadavg()

    def report(self) -> None:
        res, phases = self.results, self.results["phases"]
        raw = phases["raw"]
        table = Table(title=f"stream service, {raw['events']:,} events, {self.args.partitions} partitions per topic")
        for column in ("measure", "median", "events/s", "÷ raw floor", "÷ 2,000 target", "worker / machine cores"):
            table.add_column(column, justify="right" if column != "measure" else "left")
        table.add_row("raw aiokafka consumer (floor)", f"{raw['median_s']:.2f} s", f"{raw['rate']:,}", "1.00",
                      f"{raw['rate'] / TARGET_RATE:.2f}", "")

        def cores(runs: list[dict]) -> str:
            return (f"{statistics.median(r['cpu'].get('worker_cores', 0) for r in runs):.2f} / "
                    f"{statistics.median(r['cpu'].get('machine_cores', 0) for r in runs):.2f}")
        summary = res.setdefault("summary", {})
        for kind in self.databases:
            runs = [r for r in phases["sustained"] if r["database"] == kind]
            rate = statistics.median(r["rate"] for r in runs)
            window = statistics.median(r["window_s"] for r in runs)
            summary[f"sustained_{kind}"] = {"rate": rate, "runs": [r["rate"] for r in runs],
                                            "ratio_floor": round(rate / raw["rate"], 3),
                                            "ratio_target": round(rate / TARGET_RATE, 3)}
            run_list = ", ".join(format(r["rate"], ",") for r in runs)
            table.add_row(f"worker sustained, {kind} (runs {run_list})",
                          f"{window:.2f} s", f"{rate:,.0f}", f"{rate / raw['rate']:.3f}", f"{rate / TARGET_RATE:.2f}",
                          cores(runs))
        if "sustained_planning_defaults" in phases:
            r = phases["sustained_planning_defaults"]
            table.add_row(f"worker sustained, {r['database']}, planning defaults (1 run)", f"{r['window_s']:.2f} s",
                          f"{r['rate']:,}", f"{r['rate'] / raw['rate']:.3f}", f"{r['rate'] / TARGET_RATE:.2f}", cores([r]))
            summary["sustained_planning_defaults"] = {"rate": r["rate"], "plans": r["plans"]}
        console.print(table)
        lat_table = Table(title=f"event → state committed at {self.args.rate:g} events/s "
                                f"(poll every {self.args.poll_ms:g} ms)")
        for column in ("run", "events seen", "p50 ms", "p95 ms", "p99 ms", "max ms", "p99 ÷ 250 ms",
                       "p99 from ack", "produce ack p50", "worker / machine cores"):
            lat_table.add_column(column, justify="right" if column != "run" else "left")
        for r in phases["latency"]:
            m = r["latency_ms"]
            name = r["database"] + (f", preloaded ({r['warm_events']:,} events)" if r["preloaded"] else "")
            lat_table.add_row(name, f"{r['seen']}/{r['events']}", f"{m['p50']}", f"{m['p95']}", f"{m['p99']}",
                              f"{m['max']}", f"{m['p99'] / TARGET_P99_MS:.2f}", f"{r['latency_from_ack_ms']['p99']}",
                              f"{r['produce_ack_ms']['p50']}",
                              f"{r['cpu'].get('worker_cores', 0):.2f} / {r['cpu'].get('machine_cores', 0):.2f}")
            summary[f"latency_{r['database']}{'_preloaded' if r['preloaded'] else ''}"] = dict(
                **m, ratio_target=round(m["p99"] / TARGET_P99_MS, 3))
        console.print(lat_table)
        m = res["machine"]
        console.print(f"code: {m['code']} (commit {m['commit']}, engine/streams/solver modified: {m['code_modified']})"
                      + (f"; note: {self.args.note}" if self.args.note else ""))
        console.print(f"machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB, {m['platform']}, "
                      f"Python {m['python']}, Kafka {m.get('kafka')}, PostgreSQL {m.get('postgres', '-')}, "
                      f"SQLite {m['sqlite']}; load average at start {m['loadavg_start']}, at end {m['loadavg_end']}")
        console.print(f"bench wall time {res['wall_s']:.0f} s; results in {self.args.json}")


class VisibilityPoller(threading.Thread):
    """Polls ``processed_events`` for the event ids sent and not yet seen; records when each first shows."""

    def __init__(self, reader: StateReader, interval: float) -> None:
        super().__init__(name="visibility-poller", daemon=True)
        self.reader, self.interval = reader, interval
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self.visible: dict[str, float] = {}
        self.query_s: list[float] = []
        self._halt = threading.Event()
        self.error: BaseException | None = None

    def watch(self, event_id: str) -> None:
        with self._lock:
            self._pending.add(event_id)

    def outstanding(self) -> int:
        with self._lock:
            return len(self._pending)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)
        if self.error:
            raise self.error

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                began = time.monotonic()
                with self._lock:
                    ids = list(self._pending)
                if ids:
                    # The statement's snapshot is taken at about `began`: a row it returns was committed by then.
                    found = self.reader.processed(ids)
                    self.query_s.append(time.monotonic() - began)
                    with self._lock:
                        for event_id in found:
                            self.visible.setdefault(event_id, began)
                            self._pending.discard(event_id)
                time.sleep(max(0.0, self.interval - (time.monotonic() - began)))
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, help="event file (default: generate the default region)")
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="raw-consumer and sustained runs per database")
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--partitions", type=int, default=3, help="partitions per topic (service_env's 3)")
    parser.add_argument("--offset-poll-ms", type=float, default=50.0)
    parser.add_argument("--poll-ms", type=float, default=10.0, help="latency phase: processed_events poll interval")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency-events", type=int, default=1500)
    parser.add_argument("--no-planning-run", dest="planning_run", action="store_false",
                        help="skip the sustained run with the planning defaults")
    parser.add_argument("--no-latency-preloaded", dest="latency_preloaded", action="store_false",
                        help="skip the latency run on a database holding the rest of the region")
    parser.add_argument("--note", help="free text kept in the results (e.g. which commit an exported tree is)")
    parser.add_argument("--json", type=Path, default=CACHE / "stream_bench.json", help="where to write the results")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a phase gives up")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stream-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            bench.run()
        except BaseException:
            for w in bench.workers:
                if w.log_path.exists():
                    console.print(f"--- {w.log_path.name} ---\n{w.log_tail(15)}", markup=False)
            raise
        finally:
            bench.stop()
    bench.results["wall_s"] = round(time.monotonic() - started, 1)
    bench.report()  # also adds the summary (medians and ratios) to the results
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(bench.results, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
