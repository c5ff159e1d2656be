"""Closed-loop allocator bench: the same generated region replayed with weekly plans by each allocator.

Run by hand (never as a timed test):
    .venv/bin/python bench/closed_loop_bench.py --seeds 7,8,9 --weeks 104 --time-limit 1

A single-plan snapshot (bench/solver_bench.py) judges one decision on a backlog built by someone else;
this replays the whole stream so each allocator lives with its own decisions, and reports what the
service is for: of the requirements whose order ended in the window, how many started before it ended
(the public measure), the wait from referral to start (median and 92nd percentile), people still
waiting after their deadline passed, and how often published places changed. Baseline: current
practice on the same stream in the same run; ratios are CP-SAT ÷ baseline. Each run also gets the measure's
ceiling (bench/ceiling.py: a proven upper bound, every fact known from day one), its share of it, and its
misses by cause.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ceiling import measure  # noqa: E402
from bench.solver_bench import machine  # noqa: E402
from engine.bootstrap import bootstrap  # noqa: E402
from engine.services import metrics  # noqa: E402
from engine.services.replay import Replay, read_lines  # noqa: E402
from engine.settings import EngineSettings  # noqa: E402
from simulator import GeneratorParams, generate  # noqa: E402

ALLOCATORS = ("fifo", "current-practice", "cpsat")


# The plan's equity and forecast settings (COHORTPLAN_*, off by default), recorded with each run.
PLAN_SETTINGS = ("equity_weight", "equity_dimensions", "equity_trailing_weight", "equity_trailing_points",
                 "forecast_open_cost", "forecast_move_cost", "extra_open_cost", "extra_move_cost")


def run(seed: int, weeks: int, allocator: str, time_limit: float | None, work: Path, progress: Progress,
        move_threshold: int = 8, ceiling_s: float = 0.0, scale: float = 1.0, profile: str = "default") -> dict:
    params = GeneratorParams.for_profile(profile, weeks=weeks, seed=seed, scale=scale)
    events = work / f"events-{profile}-{seed}-{scale:g}.jsonl"
    if not events.exists():
        generate(params, events)
    engine = bootstrap(EngineSettings(database_url=f"sqlite:///{work}/{profile}-{allocator}-{seed}-{move_threshold}-{scale:g}.db",
                                      region_profile=profile,
                                      solver_time_limit_s=time_limit, solver_in_process=True,
                                      move_threshold_weeks=move_threshold))
    engine.load_region()
    lines = list(read_lines(events))
    planner = engine.planner(allocator)
    task = progress.add_task(f"seed {seed} {allocator}", total=len(lines))
    started = time.perf_counter()
    summary = Replay(engine.ingestor, planner, timedelta(days=7),
                     engine.settings.batch_size).run(lines, progress=lambda n=1, total=None: progress.advance(task, n))
    seconds = time.perf_counter() - started
    q = engine.queries()
    last = summary.plans[-1]
    # a grid that opens rare variants at the hard minimum is measured against a ceiling that may too
    bounds = measure(engine.settings.database_url, events, params.start, last.as_of, ceiling_s,
                     hard_minimum=planner.grid.rare_at_hard_minimum) if ceiling_s else {}
    share = metrics.start_share(q.requirement_outcomes(last.as_of), params.start, last.as_of)
    counts = q.outbox_counts()
    cells = group_cells(engine, q.requirement_outcomes(last.as_of), params.start, last.as_of)
    q.close()
    return {"profile": profile, "seed": seed, "scale": scale, "allocator": allocator, "move_threshold": move_threshold, "orders_ended": share.orders_ended,
            "started_in_time": share.started_in_time, "share": round(share.share, 4),
            "median_wait": round(share.median_wait_weeks or 0, 2), "p92_wait": round(share.p92_wait_weeks or 0, 2),
            "latest_start_passed": len(last.missed), "at_risk": len(last.at_risk),
            "made": counts.get("allocation.made", 0), "changed": counts.get("allocation.changed", 0),
            "removed": counts.get("allocation.removed", 0), "opened": counts.get("cohort.proposed", 0),
            "plans": len(summary.plans), "fallbacks": sum(p.plan.status == "FALLBACK" for p in summary.plans),
            "fallback_notes": sorted({p.plan.note for p in summary.plans if p.plan.status == "FALLBACK"}),
            # which weeks, to find the plan again; and the large plans whose search found nothing but whose
            # checked flow warm start stood (solver.model.solve), which are not fallbacks
            "fallback_weeks": [str(p.as_of) for p in summary.plans if p.plan.status == "FALLBACK"],
            "flow_stood": sum("flow warm start stands" in p.plan.note for p in summary.plans),
            # plans whose solve hit the wall cap (WALL_CAP × the limit): not reproducible, a sign of load
            "wall_capped": sum("wall-time cap reached" in p.plan.note for p in summary.plans),
            "seconds": round(seconds, 1), "time_limit": time_limit,  # None: sized to each plan's model
            "solve_seconds": round(sum(p.plan.solve_seconds or 0 for p in summary.plans), 1),
            "plan_settings": {name: getattr(planner.params, name) for name in PLAN_SETTINGS},
            "lookahead_weeks": planner.grid.lookahead_weeks, "grid_stagger": planner.grid.stagger,
            "grid_evenings_per_week": planner.grid.evenings_per_week,
            "grid_rare_at_hard_minimum": planner.grid.rare_at_hard_minimum,
            "grid_rare_every_step": planner.grid.rare_every_step,
            "grid_staffed": planner.grid.staffed, **cells, **_ceiling_columns(bounds)}


def attends(person) -> str:
    """When a person can come: "evening only", "daytime only" or "any" (no stated availability is any)."""
    periods = {str(period) for _, period in person.availability}
    return "evening only" if periods == {"EVENING"} else "daytime only" if periods == {"DAYTIME"} else "any"


GROUPS = {"sex": lambda r, p: p.sex, "ldc": lambda r, p: "LDC" if r.ldc else "not LDC",
          "ethnicity": lambda r, p: p.ethnicity_group or "", "pdu": lambda r, p: p.pdu_code,
          "attends": lambda r, p: attends(p)}


def group_cells(engine, outcomes: list[dict], window_start, as_of) -> dict[str, str]:
    """"group <dimension>=<value>" → "orders ended/started in time" for every value of sex, LDC, ethnicity
    group and PDU (the issue's equity target: groups of 10 or more), without the ceiling."""
    rows = [r for r in outcomes if metrics.counted(r, window_start, as_of)]
    with engine.database.uow() as uow:
        referrals = {r.referral_id: r for r in uow.referrals.where(referral_id=sorted({r["referral_id"] for r in rows}))}
        people = {p.crn: p for p in uow.people.where(crn=sorted({r.crn for r in referrals.values()}))}
    cells: dict[str, list[int]] = {}
    for row in rows:
        referral = referrals[row["referral_id"]]
        person = people[referral.crn]
        for dimension, value_of in GROUPS.items():
            cell = cells.setdefault(f"group {dimension}={value_of(referral, person)}", [0, 0])
            cell[0] += 1
            cell[1] += metrics.started_in_time(row, as_of)
    return {k: f"{a}/{b}" for k, (a, b) in sorted(cells.items())}


def _ceiling_columns(bounds: dict) -> dict:
    """The measure's ceiling (proven, bench/ceiling.py), this run's share of it, its misses by cause, and
    the same for the whole caseload; per sex and LDC: ended, started, started in the ceiling's witness."""
    out = {}
    for name, m in bounds.items():
        row = m.row()
        prefix = "" if name == "measure" else f"{name} "
        out |= {f"{prefix}ceiling": row["ceiling"], f"{prefix}ceiling_share": row["ceiling_share"],
                f"{prefix}of_ceiling": row["of_ceiling"], f"{prefix}ceiling_optimal": row["ceiling_optimal"]}
        if name == "measure":
            out |= {k: v for k, v in row.items() if k.startswith("missed: ")}
            out |= {f"{group} {value}": "/".join(map(str, cell)) for group in ("sex", "ldc")
                    for value, cell in sorted(m.by_group[group].items())}
    return out


def time_limit(text: str) -> float | None:
    """``--time-limit``: seconds (> 0), or ``sized`` (None: the engine sizes each plan's budget)."""
    if text == "sized":
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give seconds (such as 6) or 'sized'") from None
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds must be in (0, 3600]")
    return seconds


def budget_text(seconds: float | None) -> str:
    return "sized budget" if seconds is None else f"{seconds:g} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="7,8,9")
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--time-limit", type=time_limit, default=1.0,
                        help="CP-SAT seconds per weekly plan, or 'sized': the production default, sized to each "
                             "plan's model (solver.model.sized_time_limit)")
    parser.add_argument("--allocators", default=",".join(ALLOCATORS))
    parser.add_argument("--move-thresholds", default="8", help="CP-SAT move thresholds (weeks) to sweep")
    parser.add_argument("--profile", default="default", help="region profile (engine/domain/data) and its "
                                                                 "generator preset (simulator/params.py PROFILES)")
    parser.add_argument("--scale", type=float, default=1.0, help="region size (the generator keeps the pressure)")
    parser.add_argument("--ceiling-time-limit", type=float, default=60.0,
                        help="CP-SAT seconds for each ceiling (bench/ceiling.py); 0 skips it")
    parser.add_argument("--out", type=Path, default=Path("bench/.cache/closed_loop.json"))
    parser.add_argument("--keep", type=Path, default=None, help="keep each run's event file and database in this "
                                                                  "directory (to look into its misses afterwards)")
    args = parser.parse_args()
    console = Console(width=200)
    console.print(machine())
    rows = []
    if args.keep is not None:
        if args.keep.exists() and any(args.keep.iterdir()):
            parser.error(f"--keep {args.keep}: not empty; give a new or empty directory (a database there would be "
                         "replayed into twice)")
        args.keep.mkdir(parents=True, exist_ok=True)
    work = tempfile.TemporaryDirectory(prefix="closed-loop-") if args.keep is None else nullcontext(str(args.keep))
    with work as tmp, Progress(console=console) as progress:
        for seed in (int(s) for s in args.seeds.split(",")):
            for allocator in args.allocators.split(","):
                thresholds = args.move_thresholds.split(",") if allocator == "cpsat" else ["8"]  # unused by them
                for threshold in (int(t) for t in thresholds):
                    rows.append(run(seed, args.weeks, allocator, args.time_limit, Path(tmp), progress, threshold,
                                    args.ceiling_time_limit, args.scale, args.profile))
    # written first: a run of an hour is not lost to a table that fails to print
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "args": vars(args) | {"out": str(args.out)}, "rows": rows},
                                   indent=2, default=str))
    columns = list(dict.fromkeys(k for row in rows for k in row))
    main_columns = [c for c in columns if not c.startswith(("missed: ", "sex ", "ldc ", "caseload ", "group "))]
    budget = budget_text(args.time_limit)
    for title, keys in ((f"closed loop, {args.weeks} weeks, CP-SAT {budget} per plan", main_columns),
                        ("misses by cause, the caseload's ceiling, and by group (ended/started, and started by the ceiling's witness)",
                         ["seed", "allocator"] + [c for c in columns if c not in main_columns])):
        if len(keys) > 2 or keys is main_columns:
            table = Table(*keys, title=title)
            for row in rows:
                table.add_row(*(str(row.get(k, "")) for k in keys))
            console.print(table)
    base = {r["seed"]: r for r in rows if r["allocator"] == "current-practice"}
    for name in ("fifo", "cpsat"):
        mine = [r for r in rows if r["allocator"] == name and r["seed"] in base]
        if not mine:
            continue
        not_started = [(r["orders_ended"] - r["started_in_time"]) / max(1, base[r["seed"]]["orders_ended"]
                       - base[r["seed"]]["started_in_time"]) for r in mine]
        console.print(f"{name} vs current practice (median over seeds): started-in-time share "
                      f"{statistics.median(r['share'] for r in mine):.3f} vs "
                      f"{statistics.median(base[r['seed']]['share'] for r in mine):.3f}; orders ended without a start "
                      f"{statistics.median(not_started):.2f}×; p92 wait to start "
                      f"{statistics.median(r['p92_wait'] - base[r['seed']]['p92_wait'] for r in mine):+.1f} weeks; "
                      f"median wait {statistics.median(r['median_wait'] - base[r['seed']]['median_wait'] for r in mine):+.1f} weeks")


if __name__ == "__main__":
    main()
