"""Embedded replay throughput: events/s and peak memory on the generated 104-week default region.

Run by hand (never as a timed test):  .venv/bin/python bench/replay_bench.py [--repeats 3]
Both timings start from the file on disk. Baseline in the same run: the same file read, parsed and
validated only (decode, no database), so the
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
from engine.persistence.database import Database
from engine.services.ingest import Ingestor
from engine.services.replay import Replay, read_lines
from simulator import GeneratorParams, generate


def decode_only(path: Path) -> float:
    """Baseline: read the file and validate every line, nothing else."""
    started = time.perf_counter()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            decode(line)
    return time.perf_counter() - started


def replay_once(path: Path, workdir: Path, n: int, batch_size: int, measure_memory: bool) -> tuple[float, int]:
    """Timed from reading the file to the last commit (schema migration excluded)."""
    db = Database(f"sqlite:///{workdir}/bench-{n}.db")
    runner = Replay(Ingestor(db.uow), None, None, batch_size)
    if measure_memory:
        tracemalloc.start()
    started = time.perf_counter()
    summary = runner.run(read_lines(path))
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    if measure_memory:
        tracemalloc.stop()
    assert summary.ingest.applied > 0.99 * summary.ingest.received, summary.ingest
    return seconds, peak


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
        events = sum(1 for _ in read_lines(path))
        base = [decode_only(path) for _ in track(range(args.repeats), description="baseline: decode only")]
        runs = [replay_once(path, workdir, n, args.batch_size, measure_memory=False)
                for n in track(range(args.repeats), description="replay into SQLite")]
        _, peak = replay_once(path, workdir, 99, args.batch_size, measure_memory=True)
    replay_median = statistics.median(s for s, _ in runs)
    base_median = statistics.median(base)
    table = Table(title=f"embedded replay, {events:,} events, {args.weeks} weeks, batch {args.batch_size}")
    for column in ("measure", "median s", "events/s", "ratio to baseline"):
        table.add_column(column)
    table.add_row("decode only (baseline)", f"{base_median:.2f}", f"{events / base_median:,.0f}", "1.00")
    table.add_row("replay into SQLite", f"{replay_median:.2f}", f"{events / replay_median:,.0f}",
                  f"{replay_median / base_median:.2f}x slower")
    console.print(table)
    console.print(f"peak traced Python allocations during one replay: {peak / 2**20:.0f} MiB; "
                  f"process max RSS (generate + all runs): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    console.print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
                  f"runs {[round(s, 2) for s, _ in runs]}")


if __name__ == "__main__":
    main()
