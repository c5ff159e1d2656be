"""Which hard rules bind the deadline misses? CP-SAT on the bench states with rules switched off.

Diagnostic for the solver bench, run by hand:
    .venv/bin/python bench/relaxations.py --family M --seeds 5 --time-limit 30

Each relaxation drops named hard rules (``solver.constraints.CONSTRAINTS``) and solves the same
lexicographic tiers with the current-practice warm start. The relaxed plan is not checked (it breaks the
dropped rules by design), so this uses ``solver.model`` internals (``_Run``, ``_warm_start``) and may
need updating when they change. A relaxed solve whose tier 1 is not proven optimal only gives an upper
bound on the relaxed optimum: its status and bound are printed beside it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instances as inst

from solver.baselines import CurrentPracticeAllocator
from solver.constraints import CONSTRAINTS
from solver.evaluate import plan_metrics
from solver.model import Rules, _Run, _warm_start, build, tiers

RELAXATIONS = {
    "none": (),
    "facilitator_hours": ("facilitator_hours",),
    "min_size": ("min_size",),
    "double_booking": ("double_booking",),
    "rooms": ("rooms",),
    "all capacity": ("facilitator_hours", "double_booking", "rooms", "min_size"),
}


def relaxed(problem, drop: tuple[str, ...]) -> dict:
    started = time.perf_counter()
    b = build(problem, Rules(constraints={k: v for k, v in CONSTRAINTS.items() if k not in drop}))
    by_tier = tiers(b)
    _warm_start(b, by_tier, CurrentPracticeAllocator().allocate(problem))
    run = _Run(b, started, b.params.time_limit_s)
    run.lexicographic(by_tier)
    plan = run.plan(by_tier)
    m = plan_metrics(problem, plan)
    t1 = next((s.split(":")[1] for s in run.statuses if s.startswith("T1:")), "?")
    return {"misses": int(m["deadline_misses"]), "cohorts_opened": int(m["cohorts_opened"]),
            "assigned": int(m["assigned"]), "tier1": run.tier_values.get(1), "tier1_bound": run.bounds.get(1),
            "tier1_status": t1, "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="M")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=inst.CACHE / "relaxations.json")
    args = parser.parse_args()
    console = Console(width=170)
    table = Table(title=f"{args.family}: deadline misses with hard rules switched off ({args.time_limit:g} s each)")
    for column in ("seed", "miss floor", *RELAXATIONS):
        table.add_column(column)
    out = []
    for seed in range(1, args.seeds + 1):
        problem = inst.instance(args.family, seed).problem
        problem = dataclasses.replace(problem, params=dataclasses.replace(problem.params, time_limit_s=args.time_limit))
        from solver.model import build as build_model
        b = build_model(problem)
        floor = sum(1 for d in problem.demands if not b.deferrable(d) and not b.vars.choices(d.referral_id))
        row = {"seed": seed, "miss_floor": floor,
               **{name: relaxed(problem, drop) for name, drop in RELAXATIONS.items()}}
        out.append(row)
        table.add_row(str(seed), str(floor), *(
            f"{row[n]['misses']}" + ("" if row[n]["tier1_status"] == "OPTIMAL" else
                                      f" ({row[n]['tier1_status']}, T1 {row[n]['tier1']}≥{row[n]['tier1_bound']:g})")
            for n in RELAXATIONS))
        console.print(f"seed {seed} done", style="dim")
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
