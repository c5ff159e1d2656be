"""Alert sweep cost on a replayed region: reading the view, each rule, and the whole sweep.

Run by hand (never as a timed test):
    .venv/bin/python bench/alerts_bench.py [--database-url sqlite:///out/cohortplan.db] [--repeats 7]
The database is the one ``scripts/demo`` leaves (104 weeks of the default region); nothing is
written (every sweep is rolled back). Baseline in the same run: reading the planner's snapshot of the
same region (``build_problem``), the read every plan does anyway, so the ratio says what the sweep
adds to each plan.
"""
from __future__ import annotations

import platform
import statistics
import time
from datetime import datetime, timezone

from rich.console import Console
from rich.progress import track
from rich.table import Table

from demo_db import demo_arguments, open_demo

from engine.alerts.gather import gather
from engine.alerts.rules import RULES
from engine.alerts.settings import AlertThresholds
from engine.outbox import day_time
from engine.services.problem import build_problem


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    args = demo_arguments(__doc__.splitlines()[0], repeats=7)
    engine, region, today = open_demo(args.database_url)
    at = day_time(today)
    now = datetime.now(timezone.utc)
    thresholds, sweep = AlertThresholds(), engine.alert_sweep()
    samples: dict[str, list[float]] = {"snapshot (baseline)": [], "gather": [], "sweep (all rules, rolled back)": []}
    samples.update({f"rule {m.KIND}": [] for m in RULES})
    found: dict[str, int] = {}
    for repeat in track(range(args.repeats + 1), description="sweeping"):
        with engine.database.uow() as uow:
            base = timed(lambda: build_problem(uow, region, today, engine.rules, engine.params(), engine.grid()))
            uow.rollback()
        with engine.database.uow() as uow:
            box = {}
            took = timed(lambda: box.setdefault("inputs", gather(uow, region, today, now, engine.rules)))
            inputs = box["inputs"]
            rule_times = {}
            for module in RULES:
                rule_times[module.KIND] = timed(lambda: found.__setitem__(
                    module.KIND, len(module.evaluate(inputs, thresholds))))
            uow.rollback()
        with engine.database.uow() as uow:
            whole = timed(lambda: sweep.run(uow, region, today, at, now))
            uow.rollback()
        if repeat == 0:
            continue  # warm-up: memoised latest starts and session calendars
        samples["snapshot (baseline)"].append(base)
        samples["gather"].append(took)
        samples["sweep (all rules, rolled back)"].append(whole)
        for kind, seconds in rule_times.items():
            samples[f"rule {kind}"].append(seconds)
    baseline = statistics.median(samples["snapshot (baseline)"])
    table = Table("measure", "median ms", "min ms", "× snapshot", "alerts found",
                  title=f"alert sweep, region {region} as of {today} — {len(inputs.referrals)} referrals, "
                        f"{len(inputs.cohorts)} cohorts, {len(inputs.facilitators)} facilitators; "
                        f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    for name, values in samples.items():
        kind = name.removeprefix("rule ")
        table.add_row(name, f"{statistics.median(values) * 1000:.1f}", f"{min(values) * 1000:.1f}",
                      f"{statistics.median(values) / baseline:.2f}", str(found.get(kind, "")))
    Console().print(table)


if __name__ == "__main__":
    main()
