"""Budget sweep: what a weekly plan gains for each second of CP-SAT, on regions of 1, 2 and 3 times the default.

Run by hand (never as a timed test):
    .venv/bin/python bench/budget_bench.py --scales 1,2,3 --limits 1,3,10,30,60 --seed 7
    .venv/bin/python bench/budget_bench.py --scales 1 --limits sized,1 --repeats 5   # the first plan's time

``sized`` is the service's default budget (no ``COHORTPLAN_SOLVER_TIME_LIMIT_S``: solver.model.sized_time_limit).

For each scale, the state after a year of current practice (bench/instances.build_state, the next Monday's
problem) is solved by current practice and by CP-SAT at each time limit. Reported per limit: the tier-1 value
(weighted deadline misses and the equity goal; lower is better), the share of the largest limit's gain over
current practice that this limit gets, the status (FALLBACK when CP-SAT found nothing), the wall seconds, and
the time to the first solution better than current practice and the time at which the plan first had 90% of the
best limit's gain, and the time to its first feasible solution (all wall seconds from the call to ``solve``, the
models' building included, from the solve's trace; with ``--repeats``, the median of that many solves, whose
plans are the same: the budget is deterministic). The model's size
(variables; unpruned: before solver.prune left out those fixed to 0, which the sized budget
(solver.model.sized_time_limit) is read off) and the seconds to build it are printed beside it.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path
from statistics import median

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.instances import INSTANCES, VERSION, build_state, schema_tag  # noqa: E402
from bench.solver_bench import machine, med  # noqa: E402
from solver.baselines import CurrentPracticeAllocator  # noqa: E402
from solver.model import build, model_size, solve, tiers  # noqa: E402
from solver.schema import Params  # noqa: E402


def state(scale: float, weeks: int, seed: int):
    """The next Monday's problem after ``weeks`` of current practice, cached like the solver bench's instances."""
    path = INSTANCES / f"budget-scale{scale:g}-weeks{weeks}-seed{seed}-v{VERSION}-{schema_tag()}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    problem, _, _ = build_state(scale, weeks, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(problem))
    return problem


def tier1(b, plan) -> int:
    """Tier 1 of ``plan`` on the model ``b``, whoever made it (the warm start's arithmetic)."""
    chosen = {a.referral_id: a.cohort_id for a in plan.assignments}
    opened = {o.cohort_id: o.facilitator_ids for o in plan.opened}
    values = b.vars.values_of(chosen, opened)
    return sum(t.value(lambda v: values.get(v.index, 0)) for t in tiers(b)[1])


def first_better(plan, baseline_tier1: int) -> float | None:
    """Seconds to the first tier-1 solution better than current practice's, from the solve's trace."""
    return next((t for t, stage, value in plan.trace if stage.startswith("T1") and value < baseline_tier1), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,2,3")
    parser.add_argument("--limits", default="1,3,10,30,60")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1, help="solves per limit; times are their medians")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--equity-weight", type=int, default=Params().equity_weight,
                        help="the equity goal's weight (default: the production default)")
    parser.add_argument("--out", type=Path, default=Path("bench/.cache/budget.json"))
    args = parser.parse_args()
    console = Console(width=160)
    console.print(machine())
    limits = [None if x == "sized" else float(x) for x in args.limits.split(",")]
    rows = []
    with Progress(console=console) as progress:
        for scale in (float(x) for x in args.scales.split(",")):
            task = progress.add_task(f"scale {scale:g}", total=1 + len(limits) * args.repeats)
            problem = state(scale, args.weeks, args.seed)
            problem = replace(problem, params=replace(problem.params, equity_weight=args.equity_weight))
            began = time.perf_counter()
            model = build(problem)  # for its size and to score every plan of this scale on
            build_s = round(time.perf_counter() - began, 2)
            variables, unpruned = len(model.model.proto.variables), model_size(model)
            base = tier1(model, CurrentPracticeAllocator().allocate(problem))
            progress.advance(task)
            for limit in limits:
                walls, firsts, betters = [], [], []
                for _ in range(args.repeats):
                    began = time.perf_counter()
                    plan = solve(replace(problem, params=replace(problem.params, time_limit_s=limit)))
                    walls.append(time.perf_counter() - began)
                    firsts.append(plan.trace[0][0] if plan.trace else None)
                    betters.append(first_better(plan, base))
                    progress.advance(task)
                rows.append(dict(scale=scale, demands=len(problem.demands), cohorts=len(problem.cohorts),
                                 variables=variables, unpruned=unpruned, build_s=build_s,
                                 limit=limit if limit is not None else f"sized {plan.objective.get('time_limit_s')}",
                                 status=plan.status, wall=round(median(walls), 1), current_practice=base,
                                 tier1=tier1(model, plan), first_feasible=med(firsts),
                                 first_better=med(betters), first_feasible_all=firsts,
                                 trace=[(t, stage, value) for t, stage, value in plan.trace if stage.startswith("T1")]))
    for scale in {r["scale"] for r in rows}:
        mine = [r for r in rows if r["scale"] == scale]
        best = max(r["current_practice"] - r["tier1"] for r in mine)
        for r in mine:
            r["of_best_gain"] = round((r["current_practice"] - r["tier1"]) / best, 3) if best > 0 else None
            # wall seconds into this plan at which its tier 1 first had 90% of the best limit's gain
            r["to_90pct"] = next((t for t, _, value in r["trace"] if r["current_practice"] - value >= 0.9 * best),
                                 None) if best > 0 else None
    shown = [k for k in rows[0] if k not in ("trace", "first_feasible_all")]
    table = Table(*shown, title=f"CP-SAT tier 1 by time limit (seed {args.seed}, {args.weeks} weeks of "
                                         "current practice, then one plan)")
    for r in rows:
        table.add_row(*(str(r[k]) for k in shown))
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "args": vars(args) | {"out": str(args.out)}, "rows": rows},
                                   indent=2, default=str))


if __name__ == "__main__":
    main()
