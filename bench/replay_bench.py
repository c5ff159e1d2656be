"""Embedded replay throughput: events/s and peak memory on the generated 104-week default region.

Run by hand (never as a timed test):  .venv/bin/python bench/replay_bench.py [--repeats 3]
Both timings start from the file on disk. Baseline in the same run: the same file read, parsed and
validated only (decode, no database), so the
ratio says how much of the per-event cost the engine and SQLite add on this machine. Each is timed in wall
seconds and in CPU seconds of the process: on a shared machine the CPU seconds are the figure load moves least.
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


def decode_only(path: Path) -> tuple[float, float]:
    """Baseline: read the file and validate every line, nothing else (wall and CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            decode(line)
    return time.perf_counter() - started, time.process_time() - cpu


def replay_once(path: Path, workdir: Path, n: int, batch_size: int,
                measure_memory: bool) -> tuple[float, float, int]:
    """Timed from reading the file to the last commit (schema migration excluded): wall s, CPU s, peak bytes."""
    db = Database(f"sqlite:///{workdir}/bench-{n}.db")
    runner = Replay(Ingestor(db.uow), None, None, batch_size)
    if measure_memory:
        tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    summary = runner.run(read_lines(path))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    if measure_memory:
        tracemalloc.stop()
    assert summary.ingest.applied > 0.99 * summary.ingest.received, summary.ingest
    return seconds, cpu, peak


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
        _, _, peak = replay_once(path, workdir, 99, args.batch_size, measure_memory=True)
    table = Table(title=f"embedded replay, {events:,} events, {args.weeks} weeks, batch {args.batch_size}")
    for column in ("measure", "median s", "events/s", "median CPU s", "events per CPU s", "CPU ratio to baseline"):
        table.add_column(column)
    base_wall, base_cpu = (statistics.median(b[i] for b in base) for i in (0, 1))
    for name, wall, cpu in (("decode only (baseline)", base_wall, base_cpu),
                            ("replay into SQLite", *(statistics.median(r[i] for r in runs) for i in (0, 1)))):
        table.add_row(name, f"{wall:.2f}", f"{events / wall:,.0f}", f"{cpu:.2f}", f"{events / cpu:,.0f}",
                      f"{cpu / base_cpu:.2f}")
    console.print(table)
    console.print(f"peak traced Python allocations during one replay: {peak / 2**20:.0f} MiB; "
                  f"process max RSS (generate + all runs): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    console.print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
                  f"runs (wall, CPU s) {[(round(s, 2), round(c, 2)) for s, c, _ in runs]}")


if __name__ == "__main__":
    main()
