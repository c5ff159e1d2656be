"""Solver bench (issue 3): FIFO, current practice and CP-SAT on the same engine-built problem states.

Run by hand (never as a timed test):
    .venv/bin/python bench/solver_bench.py --families S,M,L --seeds 5 --time-limit 10 --reference-seconds 600

States (see bench/instances.py, cached under bench/.cache/instances/): a generated region replayed
through the engine for N weeks with weekly current-practice plans, then the problem of the next weekly
plan (Monday after the last event), candidate grid included.

- S: scale 0.15, 52 weeks. SM: scale 0.4, 52 weeks. M: the calibrated default region, 52 weeks.
  L: 12 M-sized regions from 12 seeds, relabelled R01..R12 and solved together by
  ``solver.national.solve_national``.
- Per problem: FIFO, current practice and CP-SAT (at ``--time-limit``), all judged by
  ``solver.evaluate.plan_metrics``; CP-SAT also time to first feasible (first ``plan.trace`` entry,
  seconds since the solve began, model build and warm start included), status, gap, bound, peak RSS.
- Quality vs time (``--qvt-families``, default M): CP-SAT at each ``--limits`` value, a reference run of
  ``--reference-seconds`` on the first ``--reference-seeds`` seeds, and the weighted objective at
  ``--time-limit``.
- Incremental (M, first seed): the ``--time-limit`` CP-SAT plan is published (``solver.incremental``),
  then each trial, in turn, adds a referral cloned from someone waiting (who has a compatible cohort),
  adds one cloned from someone placed, or withdraws someone placed, and re-plans the affected
  programme's cells at ``--incremental-limit`` seconds.
- Time limits are ``Params.time_limit_s`` as production uses them: with ``Params.reproducible`` (the
  default) that is a deterministic-time budget with a wall cap, so wall seconds are reported beside
  it; ``--wall-clock`` switches to wall-second budgets.
- "miss floor": people who must start within this plan to finish in time but have no allowed
  (demand, cohort) pair at all, so no plan can place them; misses above it are the avoidable ones.

Every CP-SAT solve of S, SM and M runs alone in a fresh spawned process (so its max RSS is its own);
the parent only waits. Numbers go to a rich table per family and to bench/.cache/solver_bench.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instances as inst

from solver.baselines import CurrentPracticeAllocator, FifoAllocator
from solver.evaluate import plan_metrics
from solver.schema import CohortState, Plan, Problem

SPAWN = multiprocessing.get_context("spawn")
METRICS = ("deadline_misses", "in_time_share", "median_wait_weeks", "p92_wait_weeks", "within_target_share",
           "cohorts_opened", "mean_fill", "facilitator_hours", "assigned")
ALLOCATORS = ("fifo", "current-practice", "cpsat")


# -- solving -----------------------------------------------------------------------------------------

WALL_CLOCK = False  # --wall-clock: budget CP-SAT in wall seconds instead of deterministic time


def with_limit(problem: Problem, seconds: float, mode: str = "lexicographic") -> Problem:
    extra = {"reproducible": False} if WALL_CLOCK else {}
    return dataclasses.replace(problem, params=dataclasses.replace(
        problem.params, time_limit_s=seconds, objective_mode=mode, **extra))


def _solve_measured(problem: Problem) -> tuple[Plan, float, int]:
    """In a fresh process: CP-SAT wall seconds and this process's max RSS (KiB) after the solve."""
    from solver.model import solve
    started = time.perf_counter()
    plan = solve(problem)
    wall = time.perf_counter() - started
    return plan, wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _baseline_rss() -> int:
    """Max RSS of a fresh worker that imported the solver but solved nothing (the interpreter floor)."""
    import solver.model  # noqa: F401
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def solve_isolated(problem: Problem) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=SPAWN) as pool:
        plan, wall, rss = pool.submit(_solve_measured, problem).result()
    return cpsat_record(problem, plan, wall, rss)


def cpsat_record(problem: Problem, plan: Plan, wall: float, rss_kib: int | None) -> dict:
    first = plan.trace[0] if plan.trace else None
    return {
        "plan": plan, "wall_s": round(wall, 3), "solve_seconds": round(plan.solve_seconds, 3),
        "status": plan.status, "note": plan.note, "gap": plan.gap, "best_bound": plan.best_bound,
        "tier1": plan.objective.get("tier1"), "tier2": plan.objective.get("tier2"),
        "tier3": plan.objective.get("tier3"), "tier4": plan.objective.get("tier4"),
        "first_feasible_s": first[0] if first else None, "first_stage": first[1] if first else None,
        "solutions": len(plan.trace), "limit_s": problem.params.time_limit_s,
        "reproducible": getattr(problem.params, "reproducible", None),
        "wall_cap_hit": "wall-time cap" in (plan.note or ""),
        "mode": problem.params.objective_mode,
        "peak_rss_mib": round(rss_kib / 1024, 1) if rss_kib else None,
        "metrics": plan_metrics(problem, plan),
    }


def baselines(problem: Problem) -> dict[str, dict]:
    out, chosen = {}, {}
    for name, allocator in (("fifo", FifoAllocator()), ("current-practice", CurrentPracticeAllocator())):
        started = time.perf_counter()
        plan = allocator.allocate(problem)
        out[name] = {"seconds": round(time.perf_counter() - started, 3), "metrics": plan_metrics(problem, plan)}
        chosen[name] = {a.referral_id: a.cohort_id for a in plan.assignments}
    a, b = chosen["fifo"], chosen["current-practice"]
    out["fifo"]["differs_from_current_practice"] = sum(1 for rid in set(a) | set(b) if a.get(rid) != b.get(rid))
    return out


def structure(problem: Problem) -> dict:
    """What any plan can achieve at best: people with any allowed cohort, and misses no plan can avoid."""
    from solver.model import build
    b = build(problem)
    placeable = sum(1 for d in problem.demands if b.vars.choices(d.referral_id))
    must = [d for d in problem.demands if not b.deferrable(d)]
    floor = sum(1 for d in must if not b.vars.choices(d.referral_id))
    # Facilitator hours per week the region has, against the load of running cohorts over the horizon.
    weeks = problem.params.horizon_weeks
    contracted = sum(f.weekly_hours for f in problem.facilitators)
    running = sum(c.facilitator_weekly_hours * len(c.facilitator_ids) * len(c.load_weeks)
                  for c in problem.cohorts if c.state == CohortState.OPEN)
    typical = [c for c in problem.cohorts if c.state == CohortState.CANDIDATE]
    per_group = (statistics.median(c.facilitator_weekly_hours * c.facilitators_required * len(c.load_weeks)
                                   for c in typical) if typical else 0.0)
    mean_size = statistics.mean(c.max_size for c in typical) if typical else 0.0
    spare = max(0.0, contracted * weeks - running)
    return {"placeable": placeable, "must_start_now": len(must), "miss_floor": floor,
            "variables": len(list(b.vars.all_vars())),
            "contracted_hours_per_week": round(contracted, 1), "running_load_hours": round(running, 1),
            "spare_hours_horizon": round(spare, 1), "hours_per_new_group": round(per_group, 1),
            "groups_fundable": round(spare / per_group, 1) if per_group else None,
            "places_fundable": round(spare / per_group * mean_size) if per_group else None}


# -- incremental ---------------------------------------------------------------------------------------

def incremental(problem: Problem, plan: Plan, trials: int, limit: float, seed: int, progress, task) -> dict:
    from solver.incremental import changed_programmes, published, replan_params
    from solver.model import solve
    base = published(problem, plan)
    rng = random.Random(seed)
    freeze_until = base.as_of + timedelta(days=base.params.freeze_days)
    cohorts = {c.cohort_id: c for c in base.cohorts}
    # Templates for new referrals: waiting people the model could place somewhere (a clone of someone
    # with no compatible cohort at all tells nothing about the re-plan).
    from solver.model import build
    model = build(base)
    waiting = [d for d in base.demands if d.current_cohort_id is None and model.vars.choices(d.referral_id)]
    del model
    holding = [d for d in base.demands if d.current_cohort_id is not None]
    rows = []
    for n in range(trials):
        kind = n % 3  # 0: new referral like someone waiting, 1: like someone placed, 2: a withdrawal
        if kind < 2 and (waiting if kind == 0 else holding):
            template = rng.choice(waiting if kind == 0 else holding)
            new = dataclasses.replace(
                template, referral_id=f"BENCH-REF-{n:03d}", crn=f"BENCH-CRN-{n:03d}", referred_on=base.as_of,
                ready_from=base.as_of, deadline=base.as_of + timedelta(weeks=rng.randint(60, 80)),
                current_cohort_id=None, non_associations=frozenset())
            after = dataclasses.replace(base, demands=tuple(sorted(base.demands + (new,),
                                                                   key=lambda d: d.referral_id)))
            event, subject = ("new referral like a waiting person" if kind == 0 else
                              "new referral like a placed person"), new
        else:
            gone = rng.choice(holding)
            after = dataclasses.replace(base, demands=tuple(d for d in base.demands if d.referral_id != gone.referral_id))
            event, subject = "withdrawal", gone
        programmes = changed_programmes(base, after)
        problem_n = dataclasses.replace(after, params=replan_params(after, programmes, limit))
        started = time.perf_counter()
        replan = solve(problem_n)
        latency = time.perf_counter() - started
        placed = {a.referral_id: a.cohort_id for a in replan.assignments}
        previously = [d for d in problem_n.demands if d.current_cohort_id is not None]
        moved = [d for d in previously if placed.get(d.referral_id) != d.current_cohort_id]
        newly = [rid for rid in placed if rid != subject.referral_id
                 and rid not in {d.referral_id for d in previously}]
        frozen_changes = [d for d in moved if cohorts[d.current_cohort_id].start_date <= freeze_until]
        frozen_new = [rid for rid, cid in placed.items()
                      if cohorts[cid].start_date <= freeze_until
                      and rid not in {d.referral_id for d in previously if d.current_cohort_id == cid}]
        rows.append({"trial": n, "event": event, "programme": subject.programme_code,
                     "focus_cells": len(problem_n.params.focus), "latency_s": round(latency, 3),
                     "solve_seconds": round(replan.solve_seconds, 3), "status": replan.status,
                     "note": replan.note, "previously_placed": len(previously), "moved": len(moved),
                     "moved_share": len(moved) / len(previously) if previously else 0.0,
                     "freeze_window_changes": len(frozen_changes), "newly_placed_others": len(newly),
                     "new_places_in_freeze_window": len(frozen_new),
                     "new_referral_placed": placed.get(subject.referral_id) if event.startswith("new") else None})
        progress.advance(task)
    lat = sorted(r["latency_s"] for r in rows)
    return {"base_demands": len(base.demands), "holding_place": len(holding), "trials": rows,
            "latency_p50_s": pct(lat, 50), "latency_p95_s": pct(lat, 95), "latency_max_s": max(lat),
            "freeze_window_changes": sum(r["freeze_window_changes"] for r in rows),
            "moved_share_median": statistics.median(r["moved_share"] for r in rows),
            "moved_share_max": max(r["moved_share"] for r in rows),
            "statuses": sorted({r["status"] for r in rows})}


def pct(sorted_values: list[float], p: int) -> float:
    """Nearest-rank percentile (p95 of 20 trials is the 19th value)."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, -(-p * len(sorted_values) // 100) - 1))
    return sorted_values[k]


# -- national (L) --------------------------------------------------------------------------------------

def _national_child(problems: list[Problem], workers: int) -> dict:
    from solver import workers as solver_workers
    from solver.national import solve_national
    started = time.perf_counter()
    plans = solve_national(problems, workers=workers)
    wall = time.perf_counter() - started
    solver_workers.shutdown()  # wait for the pool so RUSAGE_CHILDREN covers it
    return {"plans": plans, "wall_s": wall,
            "self_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "children_maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}


class TreeRss:
    """Samples the summed RSS of this process and all its descendants (the concurrent peak)."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.thread.join()

    def _run(self) -> None:
        root = os.getpid()
        while not self._stop.is_set():
            children: dict[int, list[int]] = {}
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/stat") as f:
                            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    except (OSError, IndexError, ValueError):
                        continue
                    children.setdefault(ppid, []).append(int(entry))
            total, stack = 0, [root]
            while stack:
                pid = stack.pop()
                stack.extend(children.get(pid, ()))
                try:
                    with open(f"/proc/{pid}/status") as f:
                        total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
                except (OSError, StopIteration):
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)


def national(problems: list[Problem], workers: int) -> dict:
    with TreeRss() as sampler, ProcessPoolExecutor(max_workers=1, mp_context=SPAWN) as pool:
        started = time.perf_counter()
        out = pool.submit(_national_child, problems, workers).result()
        outer = time.perf_counter() - started
    plans = {p.region_code: p for p in out.pop("plans")}
    regions = []
    for problem in problems:
        plan = plans[problem.region_code]
        regions.append({"region": problem.region_code, **inst.sizes(problem),
                        "status": plan.status, "solve_seconds": round(plan.solve_seconds, 2), "gap": plan.gap,
                        "cpsat": plan_metrics(problem, plan),
                        "first_feasible_s": plan.trace[0][0] if plan.trace else None,
                        **{k: v["metrics"] for k, v in baselines(problem).items()}})
    return {"regions": regions, "wall_s": round(out["wall_s"], 1), "wall_with_spawn_s": round(outer, 1),
            "boundary_plan": "BOUNDARY" in plans,
            "self_maxrss_mib": round(out["self_maxrss_kib"] / 1024, 1),
            "children_maxrss_mib": round(out["children_maxrss_kib"] / 1024, 1),
            "tree_peak_rss_mib": round(sampler.peak / 1024, 1)}


# -- reporting -----------------------------------------------------------------------------------------

def med(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return round(a / b, 3) if b else (1.0 if a == 0 else float("inf"))


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == float("inf"):
            return "inf"
        return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def family_tables(console: Console, family: str, rows: list[dict]) -> dict:
    per_seed = Table(title=f"{family}: per seed (CP-SAT at its main time limit)")
    for column in ("seed", "demands", "cand.", "placeable", "miss floor", "misses F/CP/CS", "p92 wk F/CP/CS",
                   "CS status", "first feas. s", "solve s", "gap T1", "RSS MiB"):
        per_seed.add_column(column)
    for r in rows:
        m = {a: r["allocators"][a]["metrics"] for a in ALLOCATORS}
        c = r["cpsat"]
        per_seed.add_row(str(r["seed"]), fmt(r["sizes"]["demands"]), fmt(r["sizes"]["candidates"]),
                         fmt(r["structure"]["placeable"]), fmt(r["structure"]["miss_floor"]),
                         "/".join(fmt(m[a]["deadline_misses"], 0) for a in ALLOCATORS),
                         "/".join(fmt(m[a]["p92_wait_weeks"], 1) for a in ALLOCATORS),
                         c["status"], fmt(c["first_feasible_s"]), fmt(c["wall_s"], 1),
                         fmt(c["gap"], 3), fmt(c["peak_rss_mib"], 0))
    console.print(per_seed)
    summary = Table(title=f"{family}: medians over {len(rows)} seeds")
    for column in ("measure", "FIFO", "current practice", "CP-SAT", "CP-SAT ÷ CP", "CP-SAT ÷ FIFO"):
        summary.add_column(column)
    medians = {}
    for key in METRICS:
        vals = {a: med(r["allocators"][a]["metrics"][key] for r in rows) for a in ALLOCATORS}
        medians[key] = vals
        summary.add_row(key, *(fmt(vals[a]) for a in ALLOCATORS),
                        fmt(ratio(vals["cpsat"], vals["current-practice"])), fmt(ratio(vals["cpsat"], vals["fifo"])))
    console.print(summary)
    per_seed_ratios = {
        "misses_vs_cp": [ratio(r["allocators"]["cpsat"]["metrics"]["deadline_misses"],
                               r["allocators"]["current-practice"]["metrics"]["deadline_misses"]) for r in rows],
        "misses_vs_fifo": [ratio(r["allocators"]["cpsat"]["metrics"]["deadline_misses"],
                                 r["allocators"]["fifo"]["metrics"]["deadline_misses"]) for r in rows],
        "avoidable_misses_vs_cp": [ratio(r["allocators"]["cpsat"]["metrics"]["deadline_misses"] - r["structure"]["miss_floor"],
                                         r["allocators"]["current-practice"]["metrics"]["deadline_misses"]
                                         - r["structure"]["miss_floor"]) for r in rows],
        "p92_minus_cp_weeks": [round(r["allocators"]["cpsat"]["metrics"]["p92_wait_weeks"]
                                     - r["allocators"]["current-practice"]["metrics"]["p92_wait_weeks"], 2)
                               for r in rows],
    }
    cs = [r["cpsat"] for r in rows]
    out = {"medians": medians, "per_seed_ratios": per_seed_ratios,
           "ratio_medians": {k: med(v) for k, v in per_seed_ratios.items()},
           "first_feasible_s_median": med(c["first_feasible_s"] for c in cs),
           "first_feasible_s_max": max((c["first_feasible_s"] or 0) for c in cs),
           "solve_wall_s_median": med(c["wall_s"] for c in cs),
           "peak_rss_mib_max": max((c["peak_rss_mib"] or 0) for c in cs),
           "statuses": sorted({c["status"] for c in cs}),
           "sizes_median": {k: med(r["sizes"][k] for r in rows) for k in rows[0]["sizes"]}}
    console.print(f"{family}: CP-SAT misses ÷ current practice per seed {per_seed_ratios['misses_vs_cp']}, "
                  f"÷ FIFO {per_seed_ratios['misses_vs_fifo']}; p92 wait − current practice (weeks) "
                  f"{per_seed_ratios['p92_minus_cp_weeks']}; avoidable misses (above the floor) ÷ current practice "
                  f"{per_seed_ratios['avoidable_misses_vs_cp']}; first feasible median {out['first_feasible_s_median']} s "
                  f"(max {out['first_feasible_s_max']} s)")
    return out


def qvt_table(console: Console, family: str, rows: list[dict], limits: list[float]) -> dict:
    table = Table(title=f"{family}: quality vs time (lexicographic unless marked; gap % = (x − ref) ÷ ref)")
    for column in ("seed", "run", "status", "tier1", "tier2", "T1 gap %", "T2 gap %", "first feas. s", "misses",
                   "p92 wk"):
        table.add_column(column)
    within = {}
    for r in rows:
        ref = r.get("reference")
        runs = [(f"{lim:g} s", r["limits"][str(lim)]) for lim in limits]
        if r.get("weighted"):
            runs.append((f"{r['weighted']['limit_s']:g} s weighted", r["weighted"]))
        if ref:
            runs.append((f"{ref['limit_s']:g} s reference", ref))
        for name, c in runs:
            g1, g2 = gaps(c, ref)
            c["gap_to_reference_pct"] = {"tier1": g1, "tier2": g2}
            table.add_row(str(r["seed"]), name, c["status"], fmt(c["tier1"], 0), fmt(c["tier2"], 0), fmt(g1),
                          fmt(g2), fmt(c["first_feasible_s"]), fmt(c["metrics"]["deadline_misses"], 0),
                          fmt(c["metrics"]["p92_wait_weeks"], 1))
        if ref:
            hit = [lim for lim in limits if reached(r["limits"][str(lim)], ref)]
            within[str(r["seed"])] = min(hit) if hit else None
    console.print(table)
    if within:
        console.print(f"{family}: smallest limit within 1% of the reference (tier1 equal, tier2 ≤ +1%): {within}")
    return {"within_1pct_limit_by_seed": within}


def gaps(c: dict, ref: dict | None) -> tuple[float | None, float | None]:
    if not ref or c.get("tier1") is None or ref.get("tier1") is None:
        return None, None
    g1 = round(100 * (c["tier1"] - ref["tier1"]) / max(abs(ref["tier1"]), 1), 2)
    g2 = (round(100 * (c["tier2"] - ref["tier2"]) / max(abs(ref["tier2"]), 1), 2)
          if c.get("tier2") is not None and ref.get("tier2") is not None else None)
    return g1, g2


def reached(c: dict, ref: dict) -> bool:
    return (c.get("tier1") is not None and c.get("tier2") is not None and c["tier1"] <= ref["tier1"]
            and c["tier2"] <= ref["tier2"] * 1.01 + 1e-9)


def machine() -> dict:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
                                  check=False).stdout.strip()
        except OSError:
            return ""
    cpuinfo, meminfo = Path("/proc/cpuinfo").read_text(), Path("/proc/meminfo").read_text()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
               platform.processor())
    mem = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0)
    import ortools
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem / 2**20, 1), "python": platform.python_version(),
            "ortools": ortools.__version__, "platform": platform.platform(), "load_avg": os.getloadavg(),
            "git_head": run("git", "rev-parse", "--short", "HEAD") or os.environ.get("SOLVER_BENCH_SOURCE", "?"),
            "solver_module": str(Path(sys.modules["solver.schema"].__file__).resolve().parent),
            "dirty_solver_engine": run("git", "status", "--short", "--", "solver", "engine").splitlines()}


# -- main ----------------------------------------------------------------------------------------------

def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="S,M,L")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per family for S and M (1..n)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="CP-SAT seconds of the main comparison")
    parser.add_argument("--limits", default="2,10,30", help="quality-vs-time limits (seconds)")
    parser.add_argument("--qvt-families", default="M", help="families that get the quality-vs-time runs")
    parser.add_argument("--reference-seconds", type=float, default=600.0)
    parser.add_argument("--reference-seeds", type=int, default=1, help="how many seeds get a reference run")
    parser.add_argument("--no-weighted", action="store_true", help="skip the weighted-objective comparison")
    parser.add_argument("--incremental-trials", type=int, default=20)
    parser.add_argument("--incremental-limit", type=float, default=1.5)
    parser.add_argument("--l-regions", type=int, default=12)
    parser.add_argument("--l-time-limit", type=float, default=20.0, help="CP-SAT seconds per region in L")
    parser.add_argument("--l-workers", type=int, default=2)
    parser.add_argument("--build-workers", type=int, default=2, help="processes building uncached states")
    parser.add_argument("--wall-clock", action="store_true",
                        help="Params.reproducible=False: wall-second budgets instead of deterministic time")
    parser.add_argument("--json", type=Path, default=inst.CACHE / "solver_bench.json")
    parser.add_argument("--markdown", type=Path, default=inst.CACHE / "solver_bench.md")
    args = parser.parse_args()
    global WALL_CLOCK
    WALL_CLOCK = args.wall_clock
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    limits = sorted(set(floats(args.limits)))
    console = Console(width=170)
    began = time.perf_counter()
    info = machine()
    with ProcessPoolExecutor(max_workers=1, mp_context=SPAWN) as pool:
        info["worker_floor_rss_mib"] = round(pool.submit(_baseline_rss).result() / 1024, 1)
    console.print(f"machine: {info['cpu']}, {info['cores']} cores, {info['mem_gib']} GiB, python {info['python']}, "
                  f"ortools {info['ortools']}, load {tuple(round(x, 2) for x in info['load_avg'])}, "
                  f"HEAD {info['git_head']}, dirty solver/engine files: {info['dirty_solver_engine'] or 'none'}")
    results: dict = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}, "families": {}}

    # States: build what is not cached, in parallel.
    keys = [(f, s) for f in inst.FAMILIES if f in families for s in range(1, args.seeds + 1)]
    if "L" in families:
        keys += [("M", s) for s in range(1, args.l_regions + 1)]
    keys = sorted(set(keys))
    missing = [k for k in keys if not inst.cache_path(*k).exists()]
    state_started = time.perf_counter()
    if missing:
        with Progress(console=console) as progress, \
                ProcessPoolExecutor(max_workers=args.build_workers, mp_context=SPAWN) as pool:
            task = progress.add_task(f"building {len(missing)} states (generate + replay + build)", total=len(missing))
            for _ in pool.map(inst.build_one, missing):
                progress.advance(task)
    results["state_build_s"] = round(time.perf_counter() - state_started, 1)
    console.print(f"states ready: {len(keys)} ({len(missing)} built in {results['state_build_s']} s)")

    for family in (f for f in families if f in inst.FAMILIES):
        rows = []
        qvt = family in args.qvt_families.split(",")
        seeds = list(range(1, args.seeds + 1))
        per_seed_runs = (len(limits) + (0 if args.no_weighted else 1)) if qvt else 1
        total = len(seeds) * per_seed_runs + (min(args.reference_seeds, len(seeds)) if qvt else 0)
        with Progress(console=console) as progress:
            task = progress.add_task(f"{family}: solving", total=total)
            for n, seed in enumerate(seeds):
                state = inst.instance(family, seed)
                problem = with_limit(state.problem, args.time_limit)
                row = {"seed": seed, "sizes": inst.sizes(problem), "events": state.events, "plans": state.plans,
                       "state_build_s": state.build_seconds, "structure": structure(problem),
                       "allocators": baselines(problem)}
                if qvt:
                    row["limits"] = {}
                    for lim in limits:
                        row["limits"][str(lim)] = solve_isolated(with_limit(problem, lim))
                        progress.advance(task)
                    main_run = row["limits"].get(str(args.time_limit)) or solve_isolated(problem)
                    if not args.no_weighted:
                        row["weighted"] = solve_isolated(with_limit(problem, args.time_limit, "weighted"))
                        progress.advance(task)
                    if n < args.reference_seeds:
                        row["reference"] = solve_isolated(with_limit(problem, args.reference_seconds))
                        progress.advance(task)
                else:
                    main_run = solve_isolated(problem)
                    progress.advance(task)
                row["cpsat"] = main_run
                row["allocators"]["cpsat"] = {"seconds": main_run["wall_s"], "metrics": main_run["metrics"]}
                rows.append(row)
        fam = {"note": inst.FAMILIES[family].note, "summary": family_tables(console, family, rows)}
        if qvt:
            fam["quality_vs_time"] = qvt_table(console, family, rows, limits)
        if family == "M" and args.incremental_trials:
            first = rows[0]
            with Progress(console=console) as progress:
                task = progress.add_task("M: incremental re-plans", total=args.incremental_trials)
                fam["incremental"] = incremental(inst.instance("M", first["seed"]).problem, first["cpsat"]["plan"],
                                                 args.incremental_trials, args.incremental_limit, 11, progress, task)
            incremental_table(console, fam["incremental"])
        for r in rows:
            for c in (r["cpsat"], r.get("weighted"), r.get("reference"), *r.get("limits", {}).values()):
                if c:
                    c.pop("plan", None)
        fam["seeds"] = rows
        results["families"][family] = fam

    if "L" in families:
        problems = [with_limit(inst.relabel(inst.instance("M", s).problem, f"R{s:02d}"), args.l_time_limit)
                    for s in range(1, args.l_regions + 1)]
        console.print(f"L: {len(problems)} regions, {sum(len(p.demands) for p in problems):,} demands, "
                      f"{sum(len(p.cohorts) for p in problems):,} cohort options, {args.l_time_limit:g} s per region, "
                      f"{args.l_workers} worker processes")
        result = national(problems, args.l_workers)
        results["families"]["L"] = result
        national_table(console, result, args.l_time_limit)

    results["wall_s"] = round(time.perf_counter() - began, 1)
    results["machine"]["load_avg_end"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, default=str))
    args.markdown.write_text(markdown(results, limits))
    console.print(f"wall {results['wall_s']} s; max RSS of this process "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; wrote {args.json}")


def markdown(results: dict, limits: list[float]) -> str:
    """The same numbers as Markdown tables, for BENCHMARKS.md."""
    out: list[str] = []

    def table(header: list[str], rows: list[list]) -> None:
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
        out.append("")

    names = {"fifo": "FIFO", "current-practice": "current practice", "cpsat": "CP-SAT"}
    for family, fam in results["families"].items():
        if family == "L":
            continue
        rows, summary = fam["seeds"], fam["summary"]
        out.append(f"**{family}** ({fam['note']}), {len(rows)} seeds, CP-SAT at "
                   f"{rows[0]['cpsat']['limit_s']:g} s:\n")
        table(["seed", "demands", "candidates", "open cohorts", "facilitators", "placeable", "miss floor",
               "misses F / CP / CS", "CS ÷ CP", "avoidable CS ÷ CP", "p92 wait wk F / CP / CS", "first feasible s", "CP-SAT wall s",
               "status", "peak RSS MiB"],
              [[r["seed"], r["sizes"]["demands"], r["sizes"]["candidates"], r["sizes"]["open_cohorts"],
                r["sizes"]["facilitators"], r["structure"]["placeable"], r["structure"]["miss_floor"],
                " / ".join(fmt(r["allocators"][a]["metrics"]["deadline_misses"], 0) for a in ALLOCATORS),
                fmt(ratio(r["allocators"]["cpsat"]["metrics"]["deadline_misses"],
                          r["allocators"]["current-practice"]["metrics"]["deadline_misses"])),
                fmt(ratio(r["allocators"]["cpsat"]["metrics"]["deadline_misses"] - r["structure"]["miss_floor"],
                          r["allocators"]["current-practice"]["metrics"]["deadline_misses"] - r["structure"]["miss_floor"])),
                " / ".join(fmt(r["allocators"][a]["metrics"]["p92_wait_weeks"], 1) for a in ALLOCATORS),
                fmt(r["cpsat"]["first_feasible_s"]), fmt(r["cpsat"]["wall_s"], 1), r["cpsat"]["status"],
                fmt(r["cpsat"]["peak_rss_mib"], 0)] for r in rows])
        m = summary["medians"]
        table(["median over seeds", *names.values(), "CS ÷ CP", "CS ÷ FIFO"],
              [[k, *(fmt(m[k][a]) for a in ALLOCATORS), fmt(ratio(m[k]["cpsat"], m[k]["current-practice"])),
                fmt(ratio(m[k]["cpsat"], m[k]["fifo"]))] for k in METRICS])
        if "quality_vs_time" in fam:
            q = []
            for r in rows:
                runs = [(f"{lim:g} s", r["limits"][str(lim)]) for lim in limits]
                if r.get("weighted"):
                    runs.append((f"{r['weighted']['limit_s']:g} s weighted", r["weighted"]))
                if r.get("reference"):
                    runs.append((f"{r['reference']['limit_s']:g} s reference", r["reference"]))
                for name, c in runs:
                    g = c.get("gap_to_reference_pct") or {}
                    q.append([r["seed"], name, fmt(c["wall_s"], 1), c["status"] + (" (wall cap)" if c.get("wall_cap_hit") else ""),
                              fmt(c["tier1"], 0), fmt(c["tier2"], 0), fmt(g.get("tier1")), fmt(g.get("tier2")),
                              fmt(c["gap"], 4), fmt(c["first_feasible_s"]),
                              fmt(c["metrics"]["deadline_misses"], 0), fmt(c["metrics"]["median_wait_weeks"], 1)])
            out.append(f"Quality vs time ({family}; gap % to the reference run of the same seed; "
                       f"'T1 gap' is CP-SAT's own tier-1 optimality gap):\n")
            table(["seed", "run", "wall s", "status", "tier1", "tier2", "tier1 vs ref %", "tier2 vs ref %",
                   "T1 gap", "first feasible s", "misses", "median wait wk"], q)
            out.append(f"Smallest limit within 1% of the reference: "
                       f"{fam['quality_vs_time']['within_1pct_limit_by_seed']}\n")
        if "incremental" in fam:
            r = fam["incremental"]
            like = {k: [t for t in r["trials"] if t["event"] == f"new referral like a {k} person"]
                    for k in ("waiting", "placed")}
            out.append(f"Incremental ({len(r['trials'])} trials on seed {rows[0]['seed']}'s published plan, "
                       f"{r['holding_place']} people holding an unfrozen place; a third each: a new referral cloned "
                       f"from someone waiting who has a compatible cohort, one cloned from someone placed, a "
                       f"withdrawal of someone placed):\n")
            table(["latency p50 s", "latency p95 s", "max s", "changes in freeze window", "moved median",
                   "moved max", "statuses", "new (like waiting) placed", "new (like placed) placed",
                   "others newly placed"],
                  [[fmt(r["latency_p50_s"]), fmt(r["latency_p95_s"]), fmt(r["latency_max_s"]),
                    r["freeze_window_changes"], f"{r['moved_share_median']:.2%}", f"{r['moved_share_max']:.2%}",
                    ", ".join(r["statuses"]),
                    *(f"{sum(1 for t in like[k] if t['new_referral_placed'])}/{len(like[k])}" for k in like),
                    sum(t["newly_placed_others"] for t in r["trials"])]])
    if "L" in results["families"]:
        r = results["families"]["L"]
        regions = r["regions"]
        out.append(f"**L**: {len(regions)} regions, {sum(g['demands'] for g in regions):,} demands, "
                   f"{sum(g['cohorts'] for g in regions):,} cohort options; wall {r['wall_s']} s "
                   f"({r['wall_with_spawn_s']} s with process start); peak RSS of the process tree (sampled) "
                   f"{r['tree_peak_rss_mib']:,} MiB, driver {r['self_maxrss_mib']} MiB, largest worker "
                   f"{r['children_maxrss_mib']} MiB; boundary plan: {r['boundary_plan']}\n")
        table(["region", "demands", "candidates", "status", "solve s", "first feasible s", "misses F / CP / CS",
               "p92 wait wk F / CP / CS"],
              [[g["region"], g["demands"], g["candidates"], g["status"], fmt(g["solve_seconds"], 1),
                fmt(g["first_feasible_s"]),
                " / ".join(fmt(g[a]["deadline_misses"], 0) for a in ALLOCATORS),
                " / ".join(fmt(g[a]["p92_wait_weeks"], 1) for a in ALLOCATORS)] for g in regions])
        totals = r.get("total_misses", {})
        out.append(f"Total misses F / CP / CS: {' / '.join(fmt(totals.get(a), 0) for a in ALLOCATORS)}\n")
    return "\n".join(out)


def incremental_table(console: Console, r: dict) -> None:
    table = Table(title=f"M: incremental re-plans ({len(r['trials'])} trials on seed 1's published plan; "
                        f"{r['holding_place']} people hold an unfrozen place)")
    for column in ("measure", "value"):
        table.add_column(column)
    table.add_row("latency p50 / p95 / max s", f"{r['latency_p50_s']:.2f} / {r['latency_p95_s']:.2f} / "
                                               f"{r['latency_max_s']:.2f}")
    table.add_row("changes inside the freeze window", str(r["freeze_window_changes"]))
    table.add_row("new places in cohorts starting inside the freeze window",
                  str(sum(t["new_places_in_freeze_window"] for t in r["trials"])))
    table.add_row("previously placed moved: median / max", f"{r['moved_share_median']:.2%} / {r['moved_share_max']:.2%}")
    table.add_row("statuses", ", ".join(r["statuses"]))
    table.add_row("waiting people newly placed (all trials)", str(sum(t["newly_placed_others"] for t in r["trials"])))
    for kind in ("waiting", "placed"):
        new = [t for t in r["trials"] if t["event"] == f"new referral like a {kind} person"]
        table.add_row(f"new referrals like a {kind} person placed",
                      f"{sum(1 for t in new if t['new_referral_placed'])}/{len(new)}")
    console.print(table)


def national_table(console: Console, r: dict, limit: float) -> None:
    table = Table(title=f"L: {len(r['regions'])} regions via solve_national ({limit:g} s per region)")
    for column in ("region", "demands", "cand.", "status", "solve s", "first feas. s", "misses F/CP/CS",
                   "p92 wk F/CP/CS"):
        table.add_column(column)
    for g in r["regions"]:
        table.add_row(g["region"], fmt(g["demands"]), fmt(g["candidates"]), g["status"], fmt(g["solve_seconds"], 1),
                      fmt(g["first_feasible_s"]),
                      "/".join(fmt(g[a]["deadline_misses"], 0) for a in ("fifo", "current-practice", "cpsat")),
                      "/".join(fmt(g[a]["p92_wait_weeks"], 1) for a in ("fifo", "current-practice", "cpsat")))
    console.print(table)
    totals = {a: sum(g[a]["deadline_misses"] for g in r["regions"]) for a in ("fifo", "current-practice", "cpsat")}
    r["total_misses"] = totals
    console.print(f"L: wall {r['wall_s']} s (with process start {r['wall_with_spawn_s']} s); peak RSS: process tree "
                  f"(sampled) {r['tree_peak_rss_mib']} MiB, driver {r['self_maxrss_mib']} MiB, largest worker "
                  f"{r['children_maxrss_mib']} MiB; total misses F/CP/CS {totals}; boundary plan {r['boundary_plan']}")


if __name__ == "__main__":
    main()
