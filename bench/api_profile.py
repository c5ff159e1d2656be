"""Where one API server process spends its CPU per request: one route under an open-loop load, and a profile.

Run by hand (never as a timed test):

    .venv/bin/python bench/api_profile.py [--route referral|waiting|alerts] [--rate 150] [--seconds 20]
        [--tree /another/checkout] [--writer] [--py-spy stacks.txt] [--database-url URL]

The demo region in a throwaway PostgreSQL (as bench/api_bench.py builds it, or ``--database-url``), the API served by
one uvicorn process of ``--tree`` (default this checkout) exactly as api_bench serves it, ``--clients`` clients
offering ``--rate`` requests/s of one route for ``--seconds`` after as long a warm-up. Prints requests, p50/p99 and
the server's CPU per request. With ``--writer``, the demo region's own new people are replayed into the database
meanwhile (api_bench's ``--writer-region same``). With ``--py-spy FILE``, py-spy (not a dependency of the project:
``.venv/bin/pip install py-spy``) samples the server's threads *holding the GIL* during the measured seconds: FILE
holds the collapsed stacks, and the frames with the largest inclusive share of the samples are printed.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from api_bench import Alongside, Tally, _wait_up, demo_database, raw_client, start_server, tree_cpu
from api.auth import Role
from api.devauth import DevIssuer

REPO = Path(__file__).resolve().parent.parent


def paths_of(base: str, token: str, route: str) -> list[str]:
    if route == "referral":
        waiting = httpx.get(f"{base}/regions/RS/waiting-list", params={"limit": 500},
                            headers={"Authorization": f"Bearer {token}"}, timeout=120).json()
        return [f"/referrals/{item['referral_id']}" for item in waiting["items"]]
    return {"waiting": ["/regions/RS/waiting-list?limit=50"], "alerts": ["/regions/RS/alerts?limit=50"]}[route]


async def offered(port: int, token: str, paths: list[str], rate: float, clients: int, seconds: float) -> Tally:
    tally, stop = Tally(), time.perf_counter() + seconds
    await asyncio.gather(*(raw_client("127.0.0.1", port, token, paths, n, clients, stop, tally, clients / rate)
                           for n in range(clients)))
    return tally


def summary(stacks: Path, top: int) -> list[tuple[float, str]]:
    """The frames with the largest inclusive share of the samples (a frame counted once per stack)."""
    inclusive, total = Counter(), 0
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        total += int(count)
        for frame in {re.sub(r" \(/\S*?/(site-packages|python3\.\d+|bench)/", " (", f) for f in stack.split(";")}:
            inclusive[frame] += int(count)
    return [(100 * n / total, frame) for frame, n in inclusive.most_common(top)] if total else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--route", choices=["referral", "waiting", "alerts"], default="referral")
    parser.add_argument("--rate", type=float, default=150.0, help="requests/s offered in all")
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured (after as long a warm-up, up to 15 s)")
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose API is served")
    parser.add_argument("--writer", action="store_true", help="the demo region's new people replayed meanwhile")
    parser.add_argument("--py-spy", type=Path, dest="py_spy", help="write the GIL-holding threads' stacks here")
    parser.add_argument("--top", type=int, default=40, help="frames of the profile printed")
    parser.add_argument("--database-url", help="a PostgreSQL database already holding the demo region")
    args = parser.parse_args()
    spy_bin = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if args.py_spy and not spy_bin:
        parser.error("--py-spy needs py-spy: .venv/bin/pip install py-spy")
    pg_server = server = writer = None
    try:
        pg_server, url = demo_database(args.database_url)
        key = Path(tempfile.mkdtemp()) / "key.pem"
        issuer = DevIssuer.generate()
        issuer.save(key)
        server = start_server("profiled", args.tree.resolve(), url, key, workers=1)  # one process: its pid serves
        _wait_up(server)
        token = issuer.token([Role.READ], ["RS"], minutes=120)
        paths = paths_of(server.base, token, args.route)
        if args.writer:
            writer = Alongside(url, 104, "default")
            writer.keep_running()
        asyncio.run(offered(server.port, token, paths, args.rate, args.clients, min(15.0, args.seconds)))
        spy = None
        if args.py_spy:
            spy = subprocess.Popen([spy_bin, "record", "-p", str(server.process.pid), "-d", str(int(args.seconds)),
                                    "-r", "250", "-f", "raw", "-o", str(args.py_spy), "--gil", "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu0 = tree_cpu(server.process.pid)
        tally = asyncio.run(offered(server.port, token, paths, args.rate, args.clients, args.seconds))
        cpu = tree_cpu(server.process.pid) - cpu0
        n = len(tally.latencies)
        ordered = sorted(tally.latencies)
        print(f"{args.route} ({args.tree}{', writer alongside' if args.writer else ''}): {n} requests, "
              f"p50 {ordered[n // 2] * 1000:.1f} ms, p99 {ordered[min(n - 1, int(n * 0.99))] * 1000:.1f} ms, "
              f"server CPU {cpu * 1000 / n:.2f} ms/request, failures {dict(tally.failures)}")
        if spy is not None:
            spy.wait(args.seconds + 60)
            for share, frame in summary(args.py_spy, args.top):
                print(f"{share:5.1f}%  {frame[:150]}")
    finally:
        if writer is not None:
            writer.stop()
        if server is not None and server.process.poll() is None:
            server.process.terminate()
            server.process.wait(30)
        if pg_server is not None:
            pg_server.stop()


if __name__ == "__main__":
    main()
