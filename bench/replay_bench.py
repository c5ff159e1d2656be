"""Embedded replay throughput: events/s and peak memory on the generated 104-week default region.

Run by hand (never as a timed test):  .venv/bin/python bench/replay_bench.py [--repeats 3]
Baseline in the same run: the same file parsed and validated only (decode, no database), so the
ratio says how much of the per-event cost the engine and SQLite add on this machine.
"""
from __future__ import annotations

import argparse
import platform
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from engine.events.decode import decode
from engine.generator import GeneratorParams, generate
from engine.persistence.database import Database
from engine.services.ingest import Ingestor
from engine.services.replay import Replay, read_lines


def decode_only(events) -> float:
    started = time.perf_counter()
    for item in events:
        decode(item.raw)
    return time.perf_counter() - started


def replay_once(events, workdir: Path, n: int, batch_size: int, measure_memory: bool) -> tuple[float, int]:
    db = Database(f"sqlite:///{workdir}/bench-{n}.db")
    runner = Replay(Ingestor(db.uow), None, None, batch_size)
    if measure_memory:
        tracemalloc.start()
    summary = runner.run(events)
    peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    if measure_memory:
        tracemalloc.stop()
    assert summary.ingest.applied > 0.99 * len(events), summary.ingest
    return summary.seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--batch-size", type=int, default=2000)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "events.jsonl"
        generate(GeneratorParams(weeks=args.weeks), path)
        events = list(read_lines(path))
        base = [decode_only(events) for _ in track(range(args.repeats), description="baseline: decode only")]
        runs = [replay_once(events, workdir, n, args.batch_size, measure_memory=False)
                for n in track(range(args.repeats), description="replay into SQLite")]
        _, peak = replay_once(events, workdir, 99, args.batch_size, measure_memory=True)
    replay_median = statistics.median(s for s, _ in runs)
    base_median = statistics.median(base)
    table = Table(title=f"embedded replay, {len(events):,} events, {args.weeks} weeks, batch {args.batch_size}")
    for column in ("measure", "median s", "events/s", "ratio to baseline"):
        table.add_column(column)
    table.add_row("decode only (baseline)", f"{base_median:.2f}", f"{len(events) / base_median:,.0f}", "1.00")
    table.add_row("replay into SQLite", f"{replay_median:.2f}", f"{len(events) / replay_median:,.0f}",
                  f"{replay_median / base_median:.2f}x slower")
    console.print(table)
    console.print(f"peak traced Python allocations during one replay: {peak / 2**20:.0f} MiB; "
                  f"process max RSS (generate + all runs): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    console.print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
                  f"runs {[round(s, 2) for s, _ in runs]}")


if __name__ == "__main__":
    main()
