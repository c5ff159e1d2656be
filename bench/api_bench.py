"""API reads under load: the demo region in PostgreSQL, uvicorn serving the API, 50 concurrent clients.

Run by hand (never as a timed test):  .venv/bin/python bench/api_bench.py [--seconds 10] [--repeats 4]
[--baseline /path/to/another/checkout] [--client raw|httpx]

One process orchestrates everything on 127.0.0.1 and stops it at the end:

1. the demo region's events (``cohortplan demo``'s: 104 weeks, seed 7, scale 1; cached under
   ``bench/.cache/api_bench/``) replayed into a throwaway PostgreSQL (tests/support/postgres.py) with weekly
   current-practice plans (the read side has the demo's shape; CP-SAT plans would only make the build slower) —
   or ``--database-url``, a database that already holds it;
2. the API served as ``cohortplan serve --workers N`` serves it (uvicorn, ``--workers`` processes, default 2, the
   options of :func:`api.cli.uvicorn_options`) over that database, with a local signing key; with ``--baseline``,
   a second server from another checkout of the project (say a git worktree of the commit before) over the same
   database, measured in the same run, turn about with this one;
3. per route — the waiting list (``limit=50``), one referral (a different one per request, of those waiting),
   the alert list (``limit=50``) — ``--clients`` concurrent clients call it back to back for ``--seconds`` (or,
   with ``--rate``, at that many requests a second in all: latency at an offered load):
   requests/s and p50/p99 latency as the clients see them (connections kept alive), and the CPU each process
   group spent per request: the clients (this process), the server's processes, PostgreSQL's. ``--repeats`` rounds;
   the table shows medians. With ``--baseline``, each route is measured on one server and then the other, the
   order swapped every round, so that each goes first as often (use an even number of rounds) and the two
   measures of a pair are seconds apart. With a writer the phase is not steady (the worker at 50 events/s more than
   doubles the demo region in fifteen minutes, and plans about once a minute): in three runs of effectively the
   same code against itself, measured the way this bench did before (three rounds, each server's three routes in a
   block, the blocks swapped every round), the checkout's p99 was 0.84-2.4 times the baseline's, and higher in 8
   of the 9 pairs (BENCHMARKS.md, issue 15, session 21). The default client is a minimal HTTP/1.1 one on asyncio
   streams (~0.1 ms of CPU a request; httpx, ``--client httpx``, spends 1.5-2.3 ms, which on 2 cores is the server's own budget);
4. the same again with a writer's load alongside: another region replayed into the same database by
   ``cohortplan replay --plan-every-days 7`` (intake transactions and weekly plans, as the worker would write them).
   Its events are the ``west`` profile's with every id made its own (crns, referral, sentence and requirement ids
   and event ids would otherwise be the demo's: the generator numbers them the same way for every profile, and
   a replay of them is a storm of conflicting duplicates, not a region's writes); when one replay ends, another
   generation (new ids again) starts, so the writes last the whole phase. ``--writer-rate`` paces it (each event
   committed when due, as a worker at that rate commits), else it goes as fast as it can. With ``--writer worker``
   the writer is the service's worker itself (``cohortplan worker`` on a Kafka broker the bench fetches from Maven
   Central and starts on 127.0.0.1, as the tests do), fed the same events by ``cohortplan produce --rate``: it
   applies them in batches, re-plans (CP-SAT by default, ``--worker-allocator``), sweeps alerts and relays.

Results: a rich table, the machine, the server logs' notable lines (a worker restarted, an error), and
``bench/.cache/api_bench.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# The checkout whose api/ and engine/ this process imports: this one, or (in a baseline server's processes) the one
# named by API_BENCH_TREE.
TREE = Path(os.environ.get("API_BENCH_TREE", REPO))
sys.path.insert(0, str(TREE))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from api.auth import Role  # noqa: E402
from api.devauth import DevIssuer  # noqa: E402
from engine.bootstrap import bootstrap  # noqa: E402
from engine.settings import EngineSettings  # noqa: E402

CACHE = HERE / ".cache" / "api_bench"
COHORTPLAN = str(Path(sys.executable).parent / "cohortplan")
console = Console()

# The server: uvicorn with --workers processes, each serving served_app() (as `cohortplan serve --workers N` serves
# api.app:served, with the same uvicorn options), with the bench's local signing key instead of an issuer (dev auth
# is SQLite-only in the CLI). argv: tree, bench dir, workers, port.
SERVE = """
import sys, uvicorn
sys.path.insert(0, sys.argv[1])
import api.cli
options = api.cli.uvicorn_options() if hasattr(api.cli, "uvicorn_options") else dict(
    timeout_worker_healthcheck=getattr(api.cli, "WORKER_HEALTHCHECK_S", 5))
options.update(log_level="info", access_log=False)
uvicorn.run("api_bench:served_app", factory=True, app_dir=sys.argv[2], workers=int(sys.argv[3]),
            host="127.0.0.1", port=int(sys.argv[4]), **options)
"""
NOTABLE = re.compile(r"died|error|exception|traceback|warning|killed|timeout", re.IGNORECASE)


def served_app():
    """One server process's app: the database and key the bench names in its environment."""
    from api.app import create_app
    from api.settings import ApiSettings
    logging.basicConfig(format="%(name)s: %(message)s")  # what the app logs at its end (api/app.py) ...
    logging.getLogger("api.app").setLevel(logging.INFO)  # ... for the results (computed())
    engine = bootstrap(EngineSettings(database_url=os.environ["API_BENCH_DATABASE_URL"]))
    settings = ApiSettings()  # what `cohortplan serve` takes from the environment, as far as the tree knows it
    served = {name: getattr(settings, name) for name in ("max_stale_s", "read_helper") if hasattr(settings, name)}
    return create_app(engine, DevIssuer.load(Path(os.environ["API_BENCH_KEY"])).verifier(), **served)


def events(profile: str, weeks: int) -> Path:
    from simulator import GeneratorParams, generate
    path = CACHE / f"{profile}-{weeks}w-seed7.jsonl"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        generate(GeneratorParams.for_profile(profile, weeks=weeks, seed=7), path)
    return path


# ids the generator numbers alike in every profile (REF-000123, SEN-…, RQ-…, LC-…, BR-…, RCL-…, a region's cohorts
# RS-COH-…) and crns (X + 6 digits)
_SEQUENTIAL = re.compile(r'"(REF|SEN|RQ|LC|BR|RCL|[A-Z]{2}-COH)-(\d+)"')
_CRN = re.compile(r'"X(\d{6})"')


def alongside_events(weeks: int, generation: int, directory: Path, profile: str = "west") -> Path:
    """The profile's events with ids of their own (tagged ``G<generation>``): no crn, referral, sentence,
    requirement, breach, recall, cohort or event id of the demo region's, nor of another generation's (a run starts at a
    generation of its own, so a database that saw another run's replays gets new writes too). The default
    profile's are new people of the demo region itself (RS): every batch moves RS's marks."""
    path = directory / f"{profile}-{weeks}w-G{generation}.jsonl"
    tag = f"G{generation}"
    with events(profile, weeks).open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as out:
        for line in source:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                out.write(line)
                continue
            event["event_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"api-bench/{tag}/{event['event_id']}"))
            text = json.dumps(event, separators=(",", ":"))
            text = _SEQUENTIAL.sub(lambda m: f'"{m[1]}-{tag}-{m[2]}"', text)
            out.write(_CRN.sub(lambda m: f'"{tag}{m[1]}"', text) + "\n")
    return path


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# CPU of process groups, from /proc (Linux) --------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds: user + system) of a process, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def tree_cpu(root: int | None) -> float:
    """CPU seconds of ``root`` and every process below it now (those that exited are not counted)."""
    if root is None:
        return 0.0
    stats = {int(p.name): s for p in Path("/proc").iterdir() if p.name.isdigit() and (s := _stat(int(p.name)))}
    below, total, frontier = set(), 0.0, [root]
    while frontier:
        pid = frontier.pop()
        if pid in below or pid not in stats:
            continue
        below.add(pid)
        total += stats[pid][1]
        frontier.extend(child for child, (parent, _) in stats.items() if parent == pid)
    return total


def postmaster(port: int) -> int | None:
    """The PostgreSQL server listening on ``port`` (its postmaster's pid), if it runs here."""
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                argv = (p / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"postgres") and str(port).encode() in argv:
                return int(p.name)
    return None


# the clients ----------------------------------------------------------------------------------------------------
@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    due: list[float] = field(default_factory=list)  # when each request was due (perf_counter), in step
    failures: Counter = field(default_factory=Counter)  # an HTTP status, or the transport error's type
    routes: list[str] = field(default_factory=list)  # with --mixed: the route of each latency, in step


async def raw_client(host: str, port: int, token: str, paths: list[str], first: int, step: int, stop: float,
                     tally: Tally, interval: float | None = None, labels: list[str] | None = None) -> None:
    """One keep-alive HTTP/1.1 connection sending GETs until ``stop`` (reconnecting after an error): back to back,
    or one every ``interval`` seconds (open loop). Then a request's latency runs from when it was due, not from
    when it could be sent, so a slow answer counts against the requests it held up (no coordinated omission)."""
    i, reader, writer = first, None, None
    due = time.perf_counter() + (interval or 0) * first / step
    while time.perf_counter() < stop:
        if interval is not None:
            if due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            if due >= stop:
                break
        t0 = due if interval is not None else time.perf_counter()
        due += interval or 0
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET {paths[i % len(paths)]} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                         f"Authorization: Bearer {token}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            headers = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
            headers = {k.strip().lower(): v.strip().lower() for k, v in headers.items()}
            if headers.get(b"transfer-encoding") == b"chunked":
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            else:
                await reader.readexactly(int(headers.get(b"content-length", b"0")))
            if headers.get(b"connection") == b"close":
                writer.close()
                reader = writer = None
            if status != 200:
                tally.failures[str(status)] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            tally.failures[type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
        tally.latencies.append(time.perf_counter() - t0)
        tally.due.append(t0)
        if labels is not None:
            tally.routes.append(labels[i % len(labels)])
        i += step
    if writer is not None:
        writer.close()


async def httpx_clients(base: str, token: str, paths: list[str], clients: int, stop: float, tally: Tally) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=30) as client:
        async def one(n: int) -> None:
            i = n
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    response = await client.get(paths[i % len(paths)])
                    if response.status_code != 200:
                        tally.failures[str(response.status_code)] += 1
                except httpx.TransportError as exc:
                    tally.failures[type(exc).__name__] += 1
                tally.latencies.append(time.perf_counter() - t0)
                i += clients

        await asyncio.gather(*(one(n) for n in range(clients)))


@dataclass
class Server:
    label: str
    tree: Path
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def hammer(server: Server, token: str, paths: list[str], args, pg: int | None,
           labels: list[str] | None = None) -> dict:
    """``args.clients`` clients calling ``paths`` (round robin) back to back for ``args.seconds``, after
    ``args.warmup`` seconds of the same (not counted): requests/s, p50/p99, failures, CPU per request of clients, server and PostgreSQL.
    With ``labels`` (the route of each path, raw client only) the same figures per route, by route."""
    async def run(seconds: float) -> tuple[Tally, float]:
        tally, began = Tally(), time.perf_counter()
        stop = began + seconds
        if args.client == "httpx":
            await httpx_clients(server.base, token, paths, args.clients, stop, tally)
        else:
            interval = args.clients / args.rate if args.rate else None
            await asyncio.gather(*(raw_client("127.0.0.1", server.port, token, paths, n, args.clients, stop, tally,
                                              interval, labels) for n in range(args.clients)))
        return tally, time.perf_counter() - began

    asyncio.run(run(args.warmup))  # warm-up: connections made, the read model filled
    cpu0 = (time.process_time(), tree_cpu(server.process.pid), tree_cpu(pg))
    began_at = time.time()
    tally, elapsed = asyncio.run(run(args.seconds))
    cpu1 = (time.process_time(), tree_cpu(server.process.pid), tree_cpu(pg))
    if labels is None:
        return {**_figures(tally.latencies, tally.failures, elapsed, cpu0, cpu1), "began_at": began_at,
                "worst_by_second_ms": _worst_by_second(tally)}
    return {route: _figures([x for x, r in zip(tally.latencies, tally.routes) if r == route],
                            tally.failures if route == labels[0] else Counter(), elapsed, cpu0, cpu1,
                            len(tally.latencies))
            for route in dict.fromkeys(labels)}


def _worst_by_second(tally: Tally) -> list[float]:
    """The slowest request due in each second of the measure (raw client): where in the round the tail was."""
    if not tally.due:
        return []
    first, worst = min(tally.due), {}
    for due, latency in zip(tally.due, tally.latencies):
        second = int(due - first)
        worst[second] = max(worst.get(second, 0.0), latency)
    return [round(worst.get(s, 0.0) * 1000, 1) for s in range(max(worst) + 1)]


def _figures(latencies: list[float], failures: Counter, elapsed: float, cpu0: tuple, cpu1: tuple,
             total: int | None = None) -> dict:
    """Requests/s, p50/p99 of these latencies; CPU per request over all ``total`` requests (with --mixed the routes
    share the processes, so the CPU is per request of any route; failures are counted on the first route)."""
    n = len(latencies)
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(n - 1, int(q * n))] * 1000 if n else float("nan")  # noqa: E731
    per = lambda i: (cpu1[i] - cpu0[i]) * 1000 / (total or n) if n else float("nan")  # noqa: E731
    return {"requests": n, "errors": sum(failures.values()), "failures": dict(failures),
            "rps": n / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "client_cpu_ms": per(0),
            "server_cpu_ms": per(1), "postgres_cpu_ms": per(2), "load_average": os.getloadavg()[0]}


def build_database(server) -> str:
    from engine.cli import replay_file
    url = server.create_database(f"api_{uuid.uuid4().hex[:8]}")
    built = time.perf_counter()
    engine = bootstrap(EngineSettings(database_url=url, output_dir=Path(tempfile.mkdtemp())))
    replay_file(engine, events("default", 104), 7, "current-practice")
    engine.database.dispose()
    console.print(f"demo region replayed into PostgreSQL in {time.perf_counter() - built:.0f} s")
    return url


def demo_database(url: str | None):
    """(the throwaway PostgreSQL server started, or None; the URL of a database holding the demo region): ``url``
    itself when given, else a new server with the region replayed into it (stop the server when done)."""
    if url:
        return None, url
    from tests.support.postgres import PostgresServer
    server = PostgresServer().start()
    try:
        return server, build_database(server)
    except BaseException:
        server.stop()
        raise


def start_server(label: str, tree: Path, url: str, key: Path, workers: int) -> Server:
    port = free_port()
    log = Path(tempfile.mkdtemp()) / f"server-{label}.log"
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(tree), str(HERE), str(workers), str(port)],
                               cwd=tree, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               env={**os.environ, "API_BENCH_TREE": str(tree), "API_BENCH_DATABASE_URL": url,
                                    "API_BENCH_KEY": str(key)})
    return Server(label, tree, port, process, log)


class Alongside:
    """Replays of another region into the database, one after another (new ids each time) while a phase lasts."""

    def __init__(self, url: str, weeks: int, profile: str = "west", rate: float | None = None,
                 plan_every_days: int = 7) -> None:
        self.url, self.weeks, self.process, self.profile, self.rate = url, weeks, None, profile, rate
        self.plan_every_days = plan_every_days
        self.generation = int(time.time()) % 100_000  # this run's own ids
        self.started = 0
        self.directory = Path(tempfile.mkdtemp())

    def keep_running(self) -> None:
        """Start the next generation's writes if the last ones ended."""
        if self.process is None or self.process.poll() is not None:
            path = alongside_events(self.weeks, self.generation, self.directory, self.profile)
            self.generation += 1
            self.started += 1
            paced = ["--rate", str(self.rate)] if self.rate else []
            self.process = self._write(path, paced)

    def _write(self, path: Path, paced: list[str]) -> subprocess.Popen:
        """A process writing ``path``'s events: a replay into the database."""
        env = {**os.environ, "COHORTPLAN_DATABASE_URL": self.url, "COHORTPLAN_REGION_PROFILE": self.profile,
               "COHORTPLAN_OUTPUT_DIR": tempfile.mkdtemp()}
        return subprocess.Popen([COHORTPLAN, "replay", str(path), "--plan-every-days", str(self.plan_every_days),
                                 "--allocator", "current-practice", *paced], env=env,
                                cwd=tempfile.mkdtemp(),  # nothing of it lands in the checkout
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            self.process.wait(30)
        for path in self.directory.glob("*.jsonl"):
            path.unlink()


class WorkerAlongside(Alongside):
    """The service's own worker (``cohortplan worker``) writing the database: it consumes from a real Kafka broker
    (fetched from Maven Central and started on 127.0.0.1 by tests/support/kafka_broker.py) what ``cohortplan produce``
    sends it, the same generations of another region's events as :class:`Alongside` replays (paced by ``rate``), and
    applies, plans (``allocator``: the service's own re-plans, debounced as in production), sweeps and relays them
    as it does in production."""

    def __init__(self, url: str, weeks: int, profile: str, rate: float | None, allocator: str) -> None:
        super().__init__(url, weeks, profile, rate)
        from tests.support.kafka_broker import KafkaBroker
        self.broker = KafkaBroker(Path(tempfile.mkdtemp()) / "kafka")
        self.broker.start()
        self.web_port = free_port()
        self.worker_log = self.directory / "worker.log"
        self.env = {**os.environ, "COHORTPLAN_DATABASE_URL": url,
                    "COHORTPLAN_BROKER_URL": f"kafka://{self.broker.bootstrap}",
                    "COHORTPLAN_ALLOCATOR": allocator, "COHORTPLAN_OUTPUT_DIR": tempfile.mkdtemp(),
                    "COHORTPLAN_REGION_PROFILE": profile, "COHORTPLAN_WEB_PORT": str(self.web_port)}
        subprocess.run([COHORTPLAN, "topics", "create"], env=self.env, cwd=self.directory, check=True,
                       stdout=subprocess.DEVNULL)
        self.worker = subprocess.Popen([COHORTPLAN, "worker"], env=self.env, cwd=self.directory,
                                       stdout=self.worker_log.open("w"), stderr=subprocess.STDOUT)
        _wait_answering(self.worker, f"http://127.0.0.1:{self.web_port}/ready", self.worker_log, "the worker", 180)
        self.cpu0 = tree_cpu(self.worker.pid), time.monotonic()

    def keep_running(self) -> None:
        if self.worker.poll() is not None:
            raise SystemExit(f"the worker exited: {self.worker_log.read_text()[-3000:]}")
        super().keep_running()

    def _write(self, path: Path, paced: list[str]) -> subprocess.Popen:
        """A process writing ``path``'s events: sent to the worker's topics."""
        return subprocess.Popen([COHORTPLAN, "produce", str(path), *paced], env=self.env, cwd=self.directory,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        health = None
        try:
            health = httpx.get(f"http://127.0.0.1:{self.web_port}/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            pass
        cpu, began = self.cpu0
        console.print(f"the worker: {(tree_cpu(self.worker.pid) - cpu) / (time.monotonic() - began):.2f} CPU "
                      f"seconds a second; ingest {health and health.get('ingest')}")
        super().stop()
        self.worker.terminate()
        try:
            self.worker.wait(60)
        except subprocess.TimeoutExpired:
            self.worker.kill()
        self.broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per route, server and round")
    parser.add_argument("--repeats", type=int, default=4, help="rounds (the table shows medians; even, with "
                        "--baseline, so that each server goes first as often)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of the same calls before each measure, "
                        "not counted (a process computes each answer once per state: 500 referrals take seconds)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, help="open loop: requests/s offered in all (each client one every "
                        "clients/rate s; latency from when a request was due) instead of back to back (raw client)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="raw: HTTP/1.1 on asyncio streams (light); httpx: httpx.AsyncClient")
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--workers", type=int, default=2, help="server processes (cohortplan serve --workers)")
    parser.add_argument("--baseline", type=Path, help="another checkout of the project: its server is measured too, "
                        "turn about with this one's (e.g. a git worktree of the commit before)")
    parser.add_argument("--database-url", help="a PostgreSQL database already holding the demo region (not built)")
    parser.add_argument("--no-alongside", action="store_true", help="skip the phase with a replay alongside")
    parser.add_argument("--writer-region", choices=["other", "same"], default="other",
                        help="the replay alongside writes another region (the west profile's, default) or the demo "
                             "region itself (new people of RS: every batch moves the marks its answers are kept under, "
                             "as the worker consuming RS's events would)")
    parser.add_argument("--writer-rate", type=float, help="the replay alongside applies at most this many events a "
                        "second, committing each when it is due (cohortplan replay --rate: a worker's load at that "
                        "rate, 50 the rate issue 16's latency target is set at); default: as fast as it goes, in "
                        "batches of 2,000")
    parser.add_argument("--writer-plan-every-days", type=int, default=7, help="the replay alongside plans the region "
                        "every N days of its event clock (0: never; at 50 events/s a week of the demo region's events "
                        "passes in about 4 s, so the default plans every few seconds, as a worker re-planning "
                        "after its writes would)")
    parser.add_argument("--mixed", action="store_true", help="the three routes interleaved in one run per server and "
                        "round (a third of the rate each), so each stays warm across rounds as under steady traffic; "
                        "the table gives each route's figures (raw client)")
    parser.add_argument("--writer", choices=["replay", "worker"], default="replay",
                        help="what writes alongside: a paced replay (cohortplan replay) or the service's worker on a "
                             "real Kafka broker (cohortplan worker, fed by cohortplan produce)")
    parser.add_argument("--worker-allocator", choices=["cpsat", "current-practice"], default="cpsat",
                        help="--writer worker: how the worker plans (the service's default: cpsat)")
    parser.add_argument("--out", type=Path, default=CACHE.parent / "api_bench.json")
    args = parser.parse_args()
    pg_server = servers = alongside = None
    try:
        pg_server, url = demo_database(args.database_url)
        from sqlalchemy.engine import make_url
        pg = postmaster(make_url(url).port or 5432)
        key = Path(tempfile.mkdtemp()) / "key.pem"
        issuer = DevIssuer.generate()
        issuer.save(key)
        trees = ([("before", args.baseline.resolve())] if args.baseline else []) + [("after" if args.baseline
                                                                                   else "this", REPO)]
        servers = [start_server(label, tree, url, key, args.workers) for label, tree in trees]
        for server in servers:
            _wait_up(server)
        token = issuer.token([Role.READ], ["RS"], minutes=240)
        headers = {"Authorization": f"Bearer {token}"}
        waiting = httpx.get(f"{servers[-1].base}/regions/RS/waiting-list", params={"limit": 500},
                            headers=headers, timeout=60).json()
        referrals = [f"/referrals/{item['referral_id']}" for item in waiting["items"]]
        routes = {"GET /regions/RS/waiting-list?limit=50": ["/regions/RS/waiting-list?limit=50"],
                  "GET /referrals/{id}": referrals,
                  "GET /regions/RS/alerts?limit=50": ["/regions/RS/alerts?limit=50"]}
        console.print(f"{waiting['total']} waiting, {len(referrals)} referral ids used; servers: "
                      + ", ".join(f"{s.label} ({s.tree})" for s in servers))
        runs, mixed_labels = routes, None
        if args.mixed:  # each route's paths in turn: path k of the run is route k % 3's (k // 3)th
            width = max(len(paths) for paths in routes.values())
            mixed_labels = [name for _ in range(width) for name in routes]
            runs = {"mixed": [routes[name][k % len(routes[name])] for k in range(width) for name in routes]}
        samples: dict[tuple[str, str, str], list[dict]] = {}
        alongside_phase = "with the worker alongside" if args.writer == "worker" else "with a replay alongside"
        phases = ["reads alone"] + ([] if args.no_alongside else [alongside_phase])
        total = len(phases) * args.repeats * len(servers) * len(runs)
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("measuring", total=total)
            for phase in phases:
                if phase != "reads alone":
                    profile = "default" if args.writer_region == "same" else "west"
                    alongside = WorkerAlongside(url, args.weeks, profile, args.writer_rate, args.worker_allocator) \
                        if args.writer == "worker" else Alongside(url, args.weeks, profile, args.writer_rate,
                                                                  args.writer_plan_every_days)
                    alongside.keep_running()
                    time.sleep(3)  # let it start writing (not a test: a benchmark's warm-up)
                for round_ in range(args.repeats):  # each route on each server back to back, the order swapped
                    for name, paths in runs.items():   # every round (see the module's docstring)
                        for server in servers if round_ % 2 == 0 else servers[::-1]:
                            if alongside is not None:
                                alongside.keep_running()
                            bar.update(task, description=f"{phase}, round {round_ + 1}: {server.label} {name}")
                            labels = mixed_labels if args.mixed else None
                            result = hammer(server, token, paths, args, pg, labels)
                            for route, figures in (result.items() if args.mixed else [(name, result)]):
                                if alongside is not None:
                                    figures["replay_running"] = alongside.running()
                                samples.setdefault((phase, route, server.label), []).append(figures)
                            bar.advance(task)
                if alongside is not None:
                    console.print(f"replays alongside: {alongside.started} started")
                    alongside.stop()
                    alongside = None
        report(samples, servers, args)
    finally:
        if alongside is not None:
            alongside.stop()
        for server in servers or ():
            if server.process.poll() is None:
                server.process.terminate()
                server.process.wait(30)
        if servers:
            computed(servers, args.out)
        if pg_server is not None:
            pg_server.stop()


def computed(servers: list[Server], out: Path | None) -> None:
    """What each server process's read model computed over the whole run, in requests and off them, as it logged at
    its end (api/app.py; a tree older than that logs nothing), added to the results."""
    said = {server.label: [line[line.index("read model:"):] for line in
                           server.log.read_text(errors="replace").splitlines() if "read model: answers" in line]
            for server in servers}
    for label, lines in said.items():
        console.print(f"server {label}, per process:" + "".join(f"\n  {x}" for x in lines))
    if out is not None and out.exists():
        results = json.loads(out.read_text())
        results["read_model"] = said
        out.write_text(json.dumps(results, indent=2))


def _wait_up(server: Server) -> None:
    _wait_answering(server.process, f"{server.base}/health", server.log, f"server {server.label}", 120)


def _wait_answering(process: subprocess.Popen, url: str, log: Path, what: str, timeout: float) -> None:
    """Until ``url`` answers 200 (a server listening, a worker holding its partitions); the log's tail if the
    process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)  # not a test: waiting for a process to answer
    raise SystemExit(f"{what} did not answer {url} in {timeout:.0f} s: {log.read_text()[-3000:]}")


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(samples: dict[tuple[str, str, str], list[dict]], servers: list[Server], args) -> None:
    table = Table("phase", "route", "server", "req/s (min-max)", "p50 ms", "p99 ms", "errors",
                  "CPU ms/req client", "server", "PostgreSQL", "load",
                  title=f"API reads, {args.clients} clients ({args.client}"
                        + (f", {args.rate:g} req/s offered" if args.rate else ", back to back")
                        + f"), {args.seconds:g} s per route, medians of {args.repeats}")
    summary = {}
    for (phase, name, label), runs in samples.items():
        failures = Counter()
        for r in runs:
            failures.update(r["failures"])
        row = {k: _median(runs, k) for k in ("rps", "p50_ms", "p99_ms", "client_cpu_ms", "server_cpu_ms",
                                               "postgres_cpu_ms", "load_average")}
        row.update(errors=sum(failures.values()), failures=dict(failures), rps_min=min(r["rps"] for r in runs),
                   rps_max=max(r["rps"] for r in runs))
        summary[f"{phase} | {name} | {label}"] = row
        failed = " ".join(f"{k}×{n}" for k, n in sorted(failures.items()))
        table.add_row(phase, name, label, f"{row['rps']:.0f} ({row['rps_min']:.0f}-{row['rps_max']:.0f})",
                      f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f}", f"{row['errors']} {failed}".strip(),
                      f"{row['client_cpu_ms']:.2f}", f"{row['server_cpu_ms']:.2f}", f"{row['postgres_cpu_ms']:.2f}",
                      f"{row['load_average']:.1f}")
    console.print(table)
    logs = {}
    for server in servers:
        lines = [line for line in server.log.read_text(errors="replace").splitlines() if NOTABLE.search(line)]
        logs[server.label] = lines[:50]
        console.print(f"server {server.label}: {len(lines)} notable log lines" + "".join(f"\n  {x}" for x in lines[:10]))
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
               "load_average": os.getloadavg(), "workers": args.workers}
    console.print(machine)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "clients": args.clients, "client": args.client,
                                    "rate": args.rate, "writer": args.writer, "writer_region": args.writer_region,
                                    "writer_rate": args.writer_rate,
                                    "writer_plan_every_days": args.writer_plan_every_days,
                                    "seconds": args.seconds, "repeats": args.repeats,
                                    "servers": {s.label: str(s.tree) for s in servers}, "summary": summary,
                                    "samples": {" | ".join(k): v for k, v in samples.items()},
                                    "server_logs": logs}, indent=2))


if __name__ == "__main__":
    main()
