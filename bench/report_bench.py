"""Weekly planner report cost on a replayed region: read, compute + draw, write.

Run by hand (never as a timed test):
    .venv/bin/python bench/report_bench.py [--database-url sqlite:///out/cohortplan.db] [--repeats 5]
The database is the one ``scripts/demo`` leaves; files go to a temporary directory and no event is
emitted. Baseline in the same run: the two read-side queries the old JSON summary made (waiting list
and requirement outcomes), so the ratio says what the full report costs over that.
"""
from __future__ import annotations

import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from demo_db import demo_arguments, open_demo

from engine.persistence.report_queries import report_queries
from engine.reports.build import build_report
from engine.reports.data import load_report_data
from engine.reports.publish import write_report


def main() -> None:
    args = demo_arguments(__doc__.splitlines()[0], repeats=5)
    engine, region, as_of = open_demo(args.database_url)
    samples: dict[str, list[float]] = {"baseline: waiting list + outcomes reads": [], "read facts": [],
                                       "compute sections + draw 8 charts": [], "write HTML, CSV, JSON": [],
                                       "whole report": []}
    out = Path(tempfile.mkdtemp(prefix="report-bench-"))
    for repeat in track(range(args.repeats + 1), description="reporting"):
        t0 = time.perf_counter()
        q = engine.queries()
        q.waitlist(region), q.requirement_outcomes(as_of)
        q.close()
        t1 = time.perf_counter()
        rq = report_queries(engine.database)
        data = load_report_data(rq, region, as_of, engine.rules)
        rq.close()
        t2 = time.perf_counter()
        report = build_report(data, datetime.now(timezone.utc), None)
        t3 = time.perf_counter()
        write_report(report, out / str(repeat), None)
        t4 = time.perf_counter()
        if repeat == 0:
            continue  # warm-up: imports, font cache, memoised calendars
        for name, seconds in zip(samples, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t1)):
            samples[name].append(seconds)
    baseline = statistics.median(samples["baseline: waiting list + outcomes reads"])
    table = Table("measure", "median s", "min s", "× baseline",
                  title=f"weekly report, region {region} as of {as_of}, {len(data.referrals):,} referrals, "
                        f"{len(data.cohorts):,} cohorts; {platform.machine()}, python {platform.python_version()}")
    for name, values in samples.items():
        table.add_row(name, f"{statistics.median(values):.2f}", f"{min(values):.2f}",
                      f"{statistics.median(values) / baseline:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
