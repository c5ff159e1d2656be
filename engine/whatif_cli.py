"""The ``whatif`` command: a scenario or an FTE sweep against a region's last plan, solved off the record
(engine/services/whatif), printed as a comparison table or JSON. Added to the engine's Typer app
(:data:`engine.cli.app`) when imported; :mod:`cohortplan_cli` does that.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.cli import AllocatorOption, DbOption, app
from engine.console import console, open_engine


@app.command()
def whatif(
    database_url: Optional[str] = DbOption,
    region: Optional[str] = typer.Option(None, help="Region code (default: the only region in the database)."),
    as_of: Optional[str] = typer.Option(None, help="Plan date YYYY-MM-DD (default: the region's last plan date)."),
    allocator: str = AllocatorOption,
    time_limit: float = typer.Option(5.0, min=0.1, help="CP-SAT seconds per solve."),
    add_facilitators: Optional[list[str]] = typer.Option(
        None, "--add-facilitators", metavar="PDU=N", help="Add N facilitators in a PDU (repeatable)."),
    remove_facilitators: Optional[list[str]] = typer.Option(
        None, "--remove-facilitators", metavar="PDU=N", help="Remove the N facilitators with fewest committed hours."),
    programme: Optional[list[str]] = typer.Option(
        None, "--programme", help="Added facilitators are trained on these (default: what the PDU's team delivers)."),
    new_facilitator_slots: str = typer.Option("any", help="Added facilitators work any slot, or the slots their "
                                                          "PDU's team covers: any | team."),
    evening_track: bool = typer.Option(False, "--evening-track", help="Offer evening cohorts the grid does not."),
    open_venue: Optional[list[str]] = typer.Option(
        None, "--open-venue", metavar="OFFICE[=ROOMS]", help="Give an office group rooms (default 1)."),
    demand_factor: float = typer.Option(1.0, help="Scale waiting demand: 1.2 = 20% more, 0.8 = 20% less."),
    sweep_fte: bool = typer.Option(False, "--sweep-fte", help="Find the fewest added FTE meeting --target-miss-pct."),
    target_miss_pct: Optional[float] = typer.Option(None, help="Sweep: misses must fall under this %."),
    pdu: Optional[list[str]] = typer.Option(None, "--pdu", help="Sweep: add staff in these PDUs (default: "
                                                                "region-wide, in proportion to demand)."),
    max_fte: int = typer.Option(10, help="Sweep: most FTE to try."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Re-plan a copy of the region with changed capacity or demand and compare with the baseline re-plan
    (nothing is written: the live plan, the database and the outbox are untouched)."""
    from engine.services import whatif as w
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        console.print(f"[red]error:[/red] --as-of {escape(as_of)} is not a date like 2026-11-16")
        raise typer.Exit(2) from None
    try:
        if not sweep_fte and (target_miss_pct is not None or pdu):
            raise w.WhatIfError("--target-miss-pct and --pdu belong to --sweep-fte")
        if sweep_fte and target_miss_pct is None:
            raise w.WhatIfError("--sweep-fte needs --target-miss-pct (e.g. --target-miss-pct 10)")
        scenario = w.Scenario(
            add_facilitators=w.parse_counts(add_facilitators or (), "--add-facilitators"),
            remove_facilitators=w.parse_counts(remove_facilitators or (), "--remove-facilitators"),
            programmes=frozenset(programme) if programme else None, evening_track=evening_track,
            open_venues=w.parse_venues(open_venue or ()), demand_factor=demand_factor,
            new_facilitator_slots=new_facilitator_slots)
        engine = open_engine(database_url)
        with _solving(as_json) as progress:
            if sweep_fte:
                result = w.run_sweep(engine, target_miss_pct, tuple(pdu or ()), max_fte, scenario, region, day,
                                     allocator, time_limit, progress)
            else:
                result = w.run_whatif(engine, scenario, region, day, allocator, time_limit, progress)
    except w.WhatIfError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    elif sweep_fte:
        _print_sweep(result)
    else:
        _print_whatif(result)


@contextmanager
def _solving(quiet: bool) -> Iterator:
    """A spinner line per solve (on stderr with --json, so stdout stays machine-readable)."""
    from rich.progress import SpinnerColumn
    columns = [SpinnerColumn(), TextColumn("[bold]solving {task.description}"), TimeElapsedColumn()]
    out = Console(stderr=True) if quiet else console
    with Progress(*columns, console=out, transient=False) as bar:
        tasks: dict[str, object] = {}

        def report(label: str, done: bool) -> None:
            if not done:
                tasks[label] = bar.add_task(escape(label), total=1)
            elif label in tasks:
                bar.update(tasks[label], completed=1)
        yield report


def _print_whatif(c) -> None:
    b, x, d = c.baseline, c.outcome, c.difference
    table = Table("", "baseline", "scenario", "difference",
                  title=f"What-if for {c.region_code} as of {c.as_of}: {escape(c.scenario.describe())} "
                        f"({c.allocator}, {_budget(c.time_limit_s)} per solve)")
    rows = [
        ("people in the plan", b.demands, x.demands, d["demands"]),
        ("of whom must start within reach", b.within_reach, x.within_reach, d["within_reach"]),
        ("will miss their deadline", f"{b.misses} ({b.miss_pct:.1f}%)", f"{x.misses} ({x.miss_pct:.1f}%)",
         f"{d['misses']:+g} ({d['miss_pct']:+.1f} pts)"),
        ("  of whom no cohort could take in time", b.no_option, x.no_option, d["no_option"]),
        ("median wait to start (weeks)", b.median_wait_weeks, x.median_wait_weeks, d["median_wait_weeks"]),
        ("92nd percentile wait (weeks)", b.p92_wait_weeks, x.p92_wait_weeks, d["p92_wait_weeks"]),
        ("cohorts opened", b.cohorts_opened, x.cohorts_opened, d["cohorts_opened"]),
        ("facilitator hours (cohorts opened, whole run)", b.facilitator_hours, x.facilitator_hours,
         d["facilitator_hours"]),
        ("people placed", b.placed, x.placed, d["placed"]),
        ("solver status, seconds", f"{b.status}, {b.solve_seconds:g}", f"{x.status}, {x.solve_seconds:g}", ""),
    ]
    for label, *values in rows:
        table.add_row(label, *[v if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)
                               for v in values[:2]],
                      values[2] if isinstance(values[2], str) else f"{values[2]:+g}")
    console.print(table)
    for line in c.changes or ("no change: the scenario is the baseline",):
        console.print(f"- {escape(line)}")
    console.print("Misses: people within the plan's reach (no later plan could still place them in time) left "
                  "without a place, counted over the baseline's reach in both columns. Waits run from referral "
                  "to cohort start; people without a place count to the horizon's end. Nothing was written.")


def _print_sweep(sw) -> None:
    table = Table("#", "+FTE", "added per PDU", "misses", "misses %", "median wait (weeks)", "p92 wait (weeks)",
                  "cohorts opened", "solve s",
                  title=f"FTE sweep for {sw.region_code} as of {sw.as_of}: misses under {sw.target_miss_pct:g}% "
                        f"({sw.allocator}, {_budget(sw.time_limit_s)} per solve, at most +{sw.max_fte} FTE)")
    for n, step in enumerate(sw.steps, start=1):
        o = step.outcome
        mark = " ✓" if o.miss_pct < sw.target_miss_pct else ""
        table.add_row(str(n), str(step.fte), ", ".join(f"{p} {k}" for p, k in step.split.items()) or "-",
                      f"{o.misses}/{o.within_reach}", f"{o.miss_pct:.1f}%{mark}", f"{o.median_wait_weeks:g}",
                      f"{o.p92_wait_weeks:g}", str(o.cohorts_opened), f"{o.solve_seconds:g}")
    console.print(table)
    found = sw.answer_step
    if found is not None:
        o = found.outcome
        split = ", ".join(f"{p} {k}" for p, k in found.split.items()) or "none"
        console.print(f"[bold]answer: +{found.fte} FTE[/bold] ({split}) brings misses to {o.misses}/{o.within_reach} "
                      f"({o.miss_pct:.1f}%) < {sw.target_miss_pct:g}%, median wait {o.median_wait_weeks:g} weeks"
                      + (f"; +{found.fte - 1} FTE does not" if found.fte else ""))
    elif sw.floor_pct >= sw.target_miss_pct:
        console.print(f"[bold]not reachable by adding facilitators:[/bold] {sw.floor_pct:g}% of the people within "
                      f"reach have no cohort that could take them in time (target {sw.target_miss_pct:g}%)")
    else:
        console.print(f"[bold]not reached within +{sw.max_fte} FTE[/bold] (misses under {sw.target_miss_pct:g}%); "
                      "try a larger --max-fte")
    for line in sw.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(line)}")
    for line in sw.assumptions:
        console.print(f"- assumed: {escape(line)}")


def _budget(seconds: float | None) -> str:
    return "a time limit sized to the model" if seconds is None else f"{seconds:g} s"
