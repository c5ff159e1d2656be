"""A real single-node Apache Kafka 4.x broker (KRaft) for tests, benchmarks and local runs.

No docker and no tarball: the broker jars come from Maven Central. ``fetch()`` writes a tiny
generated ``pom.xml`` into ``.cache/kafka/<version>/`` (git-ignored) and lets Maven copy
``org.apache.kafka:kafka_2.13`` with its runtime dependencies, plus the log4j2 jars the
broker POM does not bring, into ``.cache/kafka/<version>/libs``. It needs ``java`` (17+)
and ``mvn``; a warm cache makes it a no-op.

``start()`` formats a data directory (``kafka.tools.StorageTool format --standalone``) and
runs ``java -cp 'libs/*' kafka.Kafka server.properties`` as a subprocess in its own process
group: one combined broker+controller node on 127.0.0.1, with free ports picked on the first
start and kept for later ones (so ``restart()`` comes back on the same address and data dir
and clients simply reconnect). It returns once an aiokafka create-topic + produce + consume
(+ offset commit) round trip on ``__cohortplan_ready`` works. ``stop()`` sends SIGTERM (then
SIGKILL after 30 s). Logs are kept in ``<run_dir>/logs``.

Everything the broker needs lives in ``run_dir``::

    server.properties  log4j2.xml  state.json (ports, cluster id)  broker.pid  bootstrap
    data/              (log.dirs, KRaft metadata log)
    logs/server.log    (log4j2 file appender, INFO for kafka)
    logs/kafka.out     (JVM stdout/stderr: WARN+ console appender, crashes)

Environment: ``COHORTPLAN_KAFKA_VERSION`` overrides the Kafka version,
``COHORTPLAN_KAFKA_START_TIMEOUT`` the readiness timeout in seconds (default 90).

CLI (``scripts/kafka.sh`` wraps it)::

    python -m tests.support.kafka_broker fetch|start|stop|status [--dir DIR]

``start`` leaves the broker running in the background (default DIR ``.cache/kafka/run``) and
prints its bootstrap address; ``status`` exits 0 when running and 3 when not.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar
from xml.sax.saxutils import escape, quoteattr

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

# Newest 4.x on Maven Central that resolves and runs on Java 17 (4.4.0 classes are Java 17
# bytecode). Override with COHORTPLAN_KAFKA_VERSION; only 4.x is supported (3.x logs via
# reload4j and would ignore the log4j2 config).
DEFAULT_VERSION = "4.4.0"
VERSION_ENV = "COHORTPLAN_KAFKA_VERSION"
START_TIMEOUT_ENV = "COHORTPLAN_KAFKA_START_TIMEOUT"
DEFAULT_START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
FETCH_TIMEOUT = 900.0
LOG_TAIL_LINES = 60

LOG4J_VERSION = "2.24.3"
# kafka_2.13's POM pins slf4j-api 1.7.36, which cannot see the SLF4J 2 provider
# log4j-slf4j2-impl (the broker would silently log to the NOP logger). A direct dependency
# wins Maven's "nearest first" mediation; 2.0.16 is what log4j-slf4j2-impl 2.24.3 is built on.
SLF4J_VERSION = "2.0.16"

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "kafka"
DEFAULT_RUN_DIR = DEFAULT_CACHE_DIR / "run"
READY_TOPIC = "__cohortplan_ready"

JVM_OPTS = [
    "-Xms256m",
    "-Xmx512m",
    # What bin/kafka-server-start.sh uses, minus the GC log.
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]

T = TypeVar("T")


class KafkaError(RuntimeError):
    """The Kafka broker could not be started, probed or stopped."""


class KafkaUnavailable(KafkaError):
    """``java``/``mvn`` are missing or the broker jars cannot be fetched from Maven Central."""


def missing_tools_message(missing: Iterable[str]) -> str:
    names = " and ".join(f"`{m}`" for m in missing)
    return (
        f"the Kafka broker needs Java 17+ (`java`) and Maven (`mvn`): {names} not found on PATH. "
        "Install the Debian packages as root with: "
        "apt-get update && apt-get install -y openjdk-17-jre-headless maven"
    )


def _require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise KafkaUnavailable(missing_tools_message(missing))


def pom_xml(version: str) -> str:
    """The generated POM whose runtime dependencies are exactly the broker's class path."""
    deps = [
        ("org.apache.kafka", "kafka_2.13", version),
        ("org.slf4j", "slf4j-api", SLF4J_VERSION),
        ("org.apache.logging.log4j", "log4j-api", LOG4J_VERSION),
        ("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
        ("org.apache.logging.log4j", "log4j-slf4j2-impl", LOG4J_VERSION),
    ]
    dep_xml = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{escape(v)}</version></dependency>"
        for g, a, v in deps
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by tests/support/kafka_broker.py: the Kafka broker's runtime class path. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.cohortplan</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dep_xml}
  </dependencies>
</project>
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _random_cluster_id() -> str:
    """What ``kafka-storage random-uuid`` prints: a URL-safe base64 UUID without padding."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka avoids these too: they look like CLI flags
            return cid


def _tail_lines(path: Path, n: int) -> list[str]:
    """Last ``n`` lines of a possibly large file, reading only its end."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            block, data = 64 * 1024, b""
            while end > 0 and data.count(b"\n") <= n:
                start = max(0, end - block)
                f.seek(start)
                data = f.read(end - start) + data
                end = start
    except OSError:
        return []
    return data.decode(errors="replace").splitlines()[-n:]


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (a container's PID 1 may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # Format: "pid (comm) state ...": comm may contain spaces, so split after the last ')'.
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _run_sync(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when called inside a running loop
    (e.g. from an async test): then it runs on a fresh loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coro())).result()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock, so concurrent fetches of one version do not collide."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# Brokers started by this process and not detached: stopped at interpreter exit so an
# interrupted test run does not leave a JVM behind (they run in their own session).
_LIVE: set[KafkaBroker] = set()


@atexit.register
def _stop_live_brokers() -> None:
    for broker in list(_LIVE):
        with contextlib.suppress(Exception):
            broker.stop(timeout=10)


class KafkaBroker:
    """One single-node Kafka broker (KRaft, combined broker+controller) living in ``run_dir``.

    A new instance on an existing ``run_dir`` picks up its ports, data and (if alive and
    really ours) its running process, which is how the CLI's ``status``/``stop`` work.
    """

    def __init__(
        self,
        run_dir: Path,
        version: str | None = None,
        cache_dir: Path | None = None,
        start_timeout: float | None = None,
    ) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.version = version or os.environ.get(VERSION_ENV) or DEFAULT_VERSION
        self.cache_dir = Path(cache_dir or DEFAULT_CACHE_DIR).resolve()
        self.start_timeout = (
            start_timeout
            if start_timeout is not None
            else float(os.environ.get(START_TIMEOUT_ENV) or DEFAULT_START_TIMEOUT)
        )
        self.port: int | None = None
        self.controller_port: int | None = None
        self.cluster_id: str | None = None
        self.start_seconds: float | None = None  # wall time of the last successful start()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._load_state()

    # -------------------------------------------------------------------------- paths
    @property
    def version_dir(self) -> Path:
        return self.cache_dir / self.version

    @property
    def libs_dir(self) -> Path:
        return self.version_dir / "libs"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs_dir / "server.log"

    @property
    def console_log(self) -> Path:
        return self.logs_dir / "kafka.out"

    @property
    def server_properties(self) -> Path:
        return self.run_dir / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.run_dir / "log4j2.xml"

    @property
    def _state_file(self) -> Path:
        return self.run_dir / "state.json"

    @property
    def _pid_file(self) -> Path:
        return self.run_dir / "broker.pid"

    @property
    def _bootstrap_file(self) -> Path:
        return self.run_dir / "bootstrap"

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT`` of the PLAINTEXT listener."""
        if self.port is None:
            raise KafkaError(f"the Kafka broker in {self.run_dir} has never been started")
        return f"127.0.0.1:{self.port}"

    # -------------------------------------------------------------------------- fetch
    def fetch(self) -> Path:
        """Make sure the broker jars are in ``libs_dir`` (download them once); return it."""
        _require_tools("java")
        pom = pom_xml(self.version)
        digest = hashlib.sha256(pom.encode()).hexdigest()
        # The marker holds the POM's hash, so a changed dependency set refetches.
        marker = self.libs_dir / ".pom.sha256"
        if self._marker_matches(marker, digest):
            return self.libs_dir
        _require_tools("java", "mvn")
        with _file_lock(self.version_dir / ".fetch.lock"):
            if self._marker_matches(marker, digest):  # fetched by someone else meanwhile
                return self.libs_dir
            pom_path = self.version_dir / "pom.xml"
            pom_path.write_text(pom)
            # Copy into a scratch dir and rename: libs/ is either complete or absent.
            tmp = self.version_dir / f"libs.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            argv = [
                "mvn", "-q", "-B", "-Dstyle.color=never", "-f", str(pom_path),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={tmp}",
            ]
            try:
                res = subprocess.run(
                    argv, cwd=self.version_dir, capture_output=True, text=True,
                    timeout=FETCH_TIMEOUT, stdin=subprocess.DEVNULL, check=False,
                )
            except subprocess.TimeoutExpired as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise KafkaUnavailable(
                    f"mvn did not fetch Kafka {self.version} within {FETCH_TIMEOUT:.0f}s"
                ) from exc
            if res.returncode != 0 or not (tmp / f"kafka_2.13-{self.version}.jar").is_file():
                shutil.rmtree(tmp, ignore_errors=True)
                output = "\n".join((res.stdout + res.stderr).splitlines()[-40:])
                raise KafkaUnavailable(
                    f"could not fetch Kafka {self.version} from Maven Central "
                    f"(`{' '.join(argv)}` exited {res.returncode} in {self.version_dir}):\n{output}"
                )
            (tmp / ".pom.sha256").write_text(digest)
            shutil.rmtree(self.libs_dir, ignore_errors=True)
            tmp.rename(self.libs_dir)
        return self.libs_dir

    @staticmethod
    def _marker_matches(marker: Path, digest: str) -> bool:
        try:
            return marker.read_text().strip() == digest
        except OSError:
            return False

    # ---------------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Start the broker (formatting a fresh data dir first) and wait until it is ready.

        Raises ``KafkaError`` (with the tail of the broker log) if it exits or is not ready
        within ``start_timeout`` seconds; the process is killed in that case.
        """
        if self.is_running():
            return self
        self.fetch()
        began = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        fresh = not self._formatted()
        for attempt in range(1, 4):
            if fresh:
                # Ports are chosen now and reused by every later start on this run dir (clients
                # keep their bootstrap; `format --standalone` records the controller endpoint
                # in the KRaft voter set).
                shutil.rmtree(self.data_dir, ignore_errors=True)
                self.port, self.controller_port = _free_port(), _free_port()
                while self.controller_port == self.port:
                    self.controller_port = _free_port()
                self.cluster_id = _random_cluster_id()
                self._write_config()
                self._format()
                self._save_state()
            else:
                self._write_config()
            self._launch()
            try:
                self._wait_ready(began + self.start_timeout)
                break
            except KafkaError:
                clash = self._port_clash()
                self._kill_quietly()
                # A free port can be taken between picking and binding it; on a first start
                # just pick again. A restart must keep its address, so it fails instead.
                if not (fresh and clash and attempt < 3):
                    raise
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (controlled shutdown), then SIGKILL after ``timeout`` seconds. Keeps logs
        and data."""
        if self.is_running():
            self._signal(signal.SIGTERM)
            if not self._wait_exit(timeout):
                self._signal(signal.SIGKILL)
                self._wait_exit(10)
        self._forget_process()

    def kill(self) -> None:
        """SIGKILL the broker (no controlled shutdown)."""
        if self.is_running():
            self._signal(signal.SIGKILL)
            self._wait_exit(10)
        self._forget_process()

    def restart(self) -> Self:
        """Stop, then start again on the same ports and data dir."""
        self.stop()
        return self.start()

    def is_running(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self._pid is not None and self._is_our_broker(self._pid)

    def detach(self) -> None:
        """Leave the broker running when this Python process exits (CLI ``start``)."""
        _LIVE.discard(self)

    @property
    def pid(self) -> int | None:
        return self._pid if self.is_running() else None

    def log_tail(self, n: int = LOG_TAIL_LINES) -> str:
        """The last ``n`` lines of ``server.log`` and the last lines of the JVM's own output
        (where crashes, bad JVM flags and WARN+ console lines end up)."""
        parts = []
        for path, count in ((self.server_log, n), (self.console_log, min(n, 20))):
            lines = _tail_lines(path, count)
            if lines:
                parts.append(f"--- last {len(lines)} lines of {path} ---\n" + "\n".join(lines))
        return "\n".join(parts) or f"(no broker log in {self.logs_dir})"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------ topics
    def create_topics(
        self, names: Iterable[str], partitions: int = 1, *, timeout_ms: int = 30_000
    ) -> None:
        """Create topics (replication factor 1); ones that already exist are left alone."""
        topics = list(names)
        _run_sync(lambda: self._create_topics(topics, partitions, timeout_ms))

    async def _create_topics(self, names: list[str], partitions: int, timeout_ms: int) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=timeout_ms)
        await admin.start()
        try:
            resp = await admin.create_topics(
                [NewTopic(name, partitions, 1) for name in names], timeout_ms=timeout_ms
            )
        finally:
            await admin.close()
        errors = []
        for entry in resp.topic_errors:  # (topic, error_code[, error_message])
            topic, code = entry[0], entry[1]
            if code == 0 or for_code(code) is TopicAlreadyExistsError:
                continue
            detail = entry[2] if len(entry) > 2 and entry[2] else ""
            errors.append(f"{topic}: {for_code(code).__name__} {detail}".rstrip())
        if errors:
            raise KafkaError("could not create topics: " + "; ".join(errors))

    # ---------------------------------------------------------------------- internals
    def _load_state(self) -> None:
        try:
            state = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return
        self.port = state.get("port")
        self.controller_port = state.get("controller_port")
        self.cluster_id = state.get("cluster_id")
        try:
            pid = int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if self._is_our_broker(pid):
            self._pid = pid

    def _save_state(self) -> None:
        state = {
            "version": self.version,
            "port": self.port,
            "controller_port": self.controller_port,
            "cluster_id": self.cluster_id,
        }
        self._state_file.write_text(json.dumps(state, indent=2) + "\n")

    def _formatted(self) -> bool:
        return (
            self.port is not None
            and self.controller_port is not None
            and (self.data_dir / "meta.properties").is_file()
        )

    def _is_our_broker(self, pid: int) -> bool:
        # Guards against a stale pid file whose pid now belongs to something else.
        argv = _cmdline(pid)
        return _pid_alive(pid) and "kafka.Kafka" in argv and str(self.server_properties) in argv

    def _write_config(self) -> None:
        assert self.port is not None and self.controller_port is not None
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            # Dynamic quorum (what `format --standalone` sets up): no controller.quorum.voters.
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "auto.create.topics.enable": "false",
            # Single node: internal topics with one replica and one partition (fast to create).
            "offsets.topic.num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            # Share groups (KIP-932) exist in every 4.x; older brokers would only warn about
            # an unknown key, never fail.
            "share.coordinator.state.topic.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # The cleaner's dedupe buffer is allocated up front (default 128 MiB of heap).
            "log.cleaner.dedupe.buffer.size": "2097152",
        }
        lines = ["# Generated by tests/support/kafka_broker.py; rewritten on every start."]
        lines += [f"{k}={v}" for k, v in props.items()]
        self.server_properties.write_text("\n".join(lines) + "\n")

        pattern = "[%d] %p %m (%c)%n"
        self.log4j_config.write_text(
            f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by tests/support/kafka_broker.py. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="STDOUT" target="SYSTEM_OUT">
      <ThresholdFilter level="WARN"/>
      <PatternLayout pattern="{pattern}"/>
    </Console>
    <File name="FILE" fileName={quoteattr(str(self.server_log))} append="true">
      <PatternLayout pattern="{pattern}"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="STDOUT"/><AppenderRef ref="FILE"/></Root>
    <Logger name="kafka" level="INFO"/>
    <Logger name="org.apache.kafka" level="INFO"/>
    <Logger name="kafka.request.logger" level="WARN"/>
    <!-- Its "... values:" dumps of every config (~2000 lines per start) would drown the
         log tail; server.properties has what we set. -->
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="WARN"/>
  </Loggers>
</Configuration>
"""
        )

    def _java(self, main: str, *args: str, jvm_opts: Iterable[str] = ()) -> list[str]:
        return [
            "java",
            *jvm_opts,
            f"-Dlog4j2.configurationFile={self.log4j_config}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            str(self.libs_dir / "*"),  # expanded by java itself, not a shell glob
            main,
            *args,
        ]

    def _format(self) -> None:
        assert self.cluster_id is not None
        argv = self._java(
            "kafka.tools.StorageTool", "format", "--standalone",
            "-t", self.cluster_id, "-c", str(self.server_properties),
        )
        res = subprocess.run(
            argv, cwd=self.run_dir, capture_output=True, text=True, timeout=180,
            stdin=subprocess.DEVNULL, check=False,
        )
        if res.returncode != 0:
            raise KafkaError(
                f"formatting the Kafka data dir failed (exit {res.returncode}):\n"
                f"{res.stdout}{res.stderr}\n{self.log_tail()}"
            )

    def _launch(self) -> None:
        with self.console_log.open("ab") as out:
            self._proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.server_properties), jvm_opts=JVM_OPTS),
                cwd=self.run_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group; Ctrl-C in a terminal skips it
            )
        self._pid = self._proc.pid
        _LIVE.add(self)
        self._pid_file.write_text(f"{self._pid}\n")
        self._bootstrap_file.write_text(f"{self.bootstrap}\n")

    def _wait_ready(self, deadline: float) -> None:
        last_error: BaseException | None = None
        while True:
            if not self.is_running():
                code = self._proc.returncode if self._proc is not None else "?"
                raise KafkaError(
                    f"Kafka {self.version} exited (code {code}) during startup\n{self.log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = f"last probe error: {last_error!r}" if last_error else "port never opened"
                raise KafkaError(
                    f"Kafka {self.version} not ready on {self.bootstrap} after "
                    f"{self.start_timeout:.0f}s ({why})\n{self.log_tail()}"
                )
            if not self._port_open():  # cheap check first: spares aiokafka's retry noise
                time.sleep(0.2)
                continue
            try:
                _run_sync(functools.partial(self._probe_while_alive, min(remaining, 20)))
                return
            except Exception as exc:  # not ready yet: try again until the deadline
                last_error = exc
                time.sleep(0.5)

    def _port_open(self) -> bool:
        assert self.port is not None
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    async def _probe_while_alive(self, timeout: float) -> None:
        """``_probe()``, abandoned as soon as the broker process exits (or after ``timeout``):
        a probe stuck on a half-started broker must not hide its death."""
        probe = asyncio.ensure_future(self._probe())
        try:
            async with asyncio.timeout(timeout):
                while not probe.done():
                    if not self.is_running():
                        raise KafkaError("the broker process exited")
                    await asyncio.wait({probe}, timeout=0.2)
            probe.result()
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await probe

    async def _probe(self) -> None:
        """create topic + produce + consume + commit: what a real client needs to work."""
        await self._create_topics([READY_TOPIC], 1, 10_000)
        token = uuid.uuid4().hex.encode()
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            sent = await producer.send_and_wait(READY_TOPIC, token, partition=0)
        finally:
            await producer.stop()
        tp = TopicPartition(READY_TOPIC, 0)
        # With a group id the commit also proves the group coordinator (__consumer_offsets).
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=READY_TOPIC, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            consumer.seek(tp, sent.offset)
            msg = await consumer.getone()
            if msg.value != token:
                raise KafkaError(f"readiness probe read {msg.value!r}, expected {token!r}")
            await consumer.commit({tp: sent.offset + 1})
        finally:
            await consumer.stop()

    def _port_clash(self) -> bool:
        return "Address already in use" in self.log_tail(200)

    def _signal(self, sig: signal.Signals) -> None:
        assert self._pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._pid, sig)  # the JVM leads its own group (start_new_session)

    def _wait_exit(self, timeout: float) -> bool:
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        # Not our child (CLI stop): poll until it is gone.
        deadline = time.monotonic() + timeout
        while self._pid is not None and _pid_alive(self._pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def _kill_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()

    def _forget_process(self) -> None:
        self._proc = None
        self._pid = None
        _LIVE.discard(self)
        self._pid_file.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.kafka_broker",
        description="A local single-node Kafka broker (KRaft) from Maven Central jars.",
    )
    parser.add_argument(
        "command",
        choices=["fetch", "start", "stop", "status"],
        help="fetch the jars | start in the background | stop | status (exit 3 if not running)",
    )
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_RUN_DIR,
        help=f"run dir: config, data, logs, pid (default: {DEFAULT_RUN_DIR})",
    )
    args = parser.parse_args(argv)
    # aiokafka logs every refused readiness probe as an error; the outcome is reported below.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    broker = KafkaBroker(args.dir)
    try:
        if args.command == "fetch":
            began = time.monotonic()
            libs = broker.fetch()
            print(f"Kafka {broker.version} jars ready in {libs} ({time.monotonic() - began:.1f}s)")
        elif args.command == "start":
            if not broker.is_running():
                broker.start()
                broker.detach()
                print(
                    f"Kafka {broker.version} started in {broker.start_seconds:.1f}s "
                    f"(pid {broker.pid}, logs in {broker.logs_dir})",
                    file=sys.stderr,
                )
            print(broker.bootstrap)
        elif args.command == "stop":
            if broker.is_running():
                broker.stop()
                print("stopped")
            else:
                print("not running")
        elif args.command == "status":
            if broker.is_running():
                print(f"running {broker.bootstrap} (pid {broker.pid}, dir {broker.run_dir})")
                return 0
            last = f" (last bootstrap {broker.bootstrap})" if broker.port is not None else ""
            print(f"not running{last}")
            return 3
    except KafkaError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
