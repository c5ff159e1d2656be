"""API reads under load: the demo region in PostgreSQL, uvicorn serving the API, 50 concurrent clients.

Run by hand (never as a timed test):  .venv/bin/python bench/api_bench.py [--seconds 20] [--clients 50]

One process orchestrates everything on 127.0.0.1 and stops it at the end:

1. the demo region's events (``cohortplan demo``'s: 104 weeks, seed 7, scale 1; cached under
   ``bench/.cache/api_bench/``) replayed into a throwaway PostgreSQL (tests/support/postgres.py) with weekly
   current-practice plans (the read side has the demo's shape; CP-SAT plans would only make the build slower);
2. the API served as ``cohortplan serve --workers N`` serves it (uvicorn, ``--workers`` processes, default 2) over
   that database, with a local signing key;
3. per route — the waiting list (``limit=50``), one referral (a different one per request, of those waiting),
   the alert list (``limit=50``) — ``--clients`` httpx async clients call it back to back for ``--seconds``:
   requests/s and p50/p99 latency as the clients see them (connection kept alive);
4. the same again with the worker's load alongside: another region (profile ``west``) replayed into the same
   database by ``cohortplan replay`` (intake transactions and weekly plans, as the worker would write them).

Results: a rich table, the machine, and ``bench/.cache/api_bench.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.auth import Role  # noqa: E402
from api.devauth import DevIssuer  # noqa: E402
from engine.bootstrap import bootstrap  # noqa: E402
from engine.cli import replay_file  # noqa: E402
from engine.settings import EngineSettings  # noqa: E402
from simulator import GeneratorParams, generate  # noqa: E402
from tests.support.polling import wait_until  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

CACHE = REPO / "bench" / ".cache" / "api_bench"
COHORTPLAN = str(Path(sys.executable).parent / "cohortplan")
console = Console()

# The server: uvicorn with --workers processes, each serving served_app() (as `cohortplan serve --workers N` serves
# api.app:served), with the bench's local signing key instead of an issuer (dev auth is SQLite-only in the CLI).
SERVE = """
import sys, uvicorn
from api.cli import WORKER_HEALTHCHECK_S
uvicorn.run("api_bench:served_app", factory=True, app_dir=sys.argv[1], workers=int(sys.argv[2]),
            host="127.0.0.1", port=int(sys.argv[3]), log_level="warning", access_log=False,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)
"""


def served_app():
    """One server process's app: the database and key the bench names in its environment."""
    from api.app import create_app
    engine = bootstrap(EngineSettings(database_url=os.environ["API_BENCH_DATABASE_URL"]))
    return create_app(engine, DevIssuer.load(Path(os.environ["API_BENCH_KEY"])).verifier())


def events(profile: str, weeks: int) -> Path:
    path = CACHE / f"{profile}-{weeks}w-seed7.jsonl"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        generate(GeneratorParams.for_profile(profile, weeks=weeks, seed=7), path)
    return path


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def hammer(base: str, headers: dict, paths: list[str], clients: int, seconds: float,
                 progress: Progress, label: str) -> dict:
    """``clients`` tasks calling ``paths`` (round robin) back to back for ``seconds``."""
    task = progress.add_task(label, total=seconds)
    latencies: list[float] = []
    errors = 0
    failures: Counter[str] = Counter()  # what the errors were: an HTTP status, or the transport error's type
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        await client.get(paths[0])  # warm-up
        began = time.perf_counter()
        stop = began + seconds

        async def one(n: int) -> None:
            nonlocal errors
            i = n
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    response = await client.get(paths[i % len(paths)])
                    if response.status_code != 200:
                        errors += 1
                        failures[str(response.status_code)] += 1
                except httpx.TransportError as exc:  # counted, not fatal: the table says how many and which
                    errors += 1
                    failures[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - t0)
                i += clients

        async def tick() -> None:
            while time.perf_counter() < stop:
                progress.update(task, completed=min(seconds, time.perf_counter() - began))
                await asyncio.sleep(0.5)

        await asyncio.gather(tick(), *(one(n) for n in range(clients)))
        elapsed = time.perf_counter() - began
    progress.update(task, completed=seconds)
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "errors": errors, "failures": dict(failures),
            "rps": len(latencies) / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per route and phase")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--workers", type=int, default=2, help="server processes (cohortplan serve --workers)")
    parser.add_argument("--no-alongside", action="store_true", help="skip the phase with a replay alongside")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / ".cache" / "api_bench.json")
    args = parser.parse_args()
    demo, west = events("default", args.weeks), events("west", args.weeks)
    server = PostgresServer().start()
    serving = alongside = None
    try:
        url = server.create_database(f"api_{uuid.uuid4().hex[:8]}")
        built = time.perf_counter()
        engine = bootstrap(EngineSettings(database_url=url, output_dir=Path(tempfile.mkdtemp())))
        replay_file(engine, demo, 7, "current-practice")
        console.print(f"demo region replayed into PostgreSQL in {time.perf_counter() - built:.0f} s")
        key = Path(tempfile.mkdtemp()) / "key.pem"
        issuer = DevIssuer.generate()
        issuer.save(key)
        port = free_port()
        serving = subprocess.Popen([sys.executable, "-c", SERVE, str(REPO / "bench"), str(args.workers), str(port)],
                                   cwd=REPO, env={**os.environ, "API_BENCH_DATABASE_URL": url, "API_BENCH_KEY": str(key)})
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _up(base), timeout=60)
        headers = {"Authorization": f"Bearer {issuer.token([Role.READ], ['RS'], minutes=120)}"}
        waiting = httpx.get(f"{base}/regions/RS/waiting-list", params={"limit": 500}, headers=headers).json()
        referrals = [f"/referrals/{item['referral_id']}" for item in waiting["items"]]
        routes = {"GET /regions/RS/waiting-list?limit=50": ["/regions/RS/waiting-list?limit=50"],
                  "GET /referrals/{id}": referrals,
                  "GET /regions/RS/alerts?limit=50": ["/regions/RS/alerts?limit=50"]}
        console.print(f"{waiting['total']} waiting, {len(referrals)} referral ids used")
        results: dict[str, dict] = {}
        phases = ["reads alone"] + ([] if args.no_alongside else ["with a replay alongside"])
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console) as bar:
            for phase in phases:
                if phase != "reads alone":
                    env = {**os.environ, "COHORTPLAN_DATABASE_URL": url, "COHORTPLAN_REGION_PROFILE": "west"}
                    alongside = subprocess.Popen([COHORTPLAN, "replay", str(west), "--plan-every-days", "7",
                                                  "--allocator", "current-practice"], env=env,
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(3)  # let it start writing (not a test: a benchmark's warm-up)
                for name, paths in routes.items():
                    results[f"{phase} | {name}"] = asyncio.run(hammer(base, headers, paths, args.clients,
                                                                      args.seconds, bar, f"{phase}: {name}"))
                if alongside is not None:
                    results[f"{phase} | replay still running at the end"] = {"running": alongside.poll() is None}
        report(results, args)
    finally:
        for process in (alongside, serving):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(30)
        server.stop()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def report(results: dict[str, dict], args) -> None:
    table = Table("phase", "route", "requests", "errors", "req/s", "p50 ms", "p99 ms",
                  title=f"API reads, {args.clients} clients, {args.seconds:g} s per route")
    for key, r in results.items():
        phase, name = key.split(" | ")
        if "rps" in r:
            failed = " ".join(f"{k}×{n}" for k, n in sorted(r["failures"].items()))
            table.add_row(phase, name, str(r["requests"]), f"{r['errors']} {failed}".strip(), f"{r['rps']:.0f}",
                          f"{r['p50_ms']:.1f}",
                          f"{r['p99_ms']:.1f}")
        else:
            table.add_row(phase, name, "", "", "", "", "", end_section=True)
    console.print(table)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
               "load_average": os.getloadavg(), "workers": args.workers}
    console.print(machine)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "clients": args.clients, "seconds": args.seconds,
                                    "results": results}, indent=2))


if __name__ == "__main__":
    main()
