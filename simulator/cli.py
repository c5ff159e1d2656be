"""The simulator's commands on the ``cohortplan`` command: generate a synthetic region, and the demo.

They are registered on the engine's command (:data:`engine.cli.app`) when this module is imported;
:mod:`cohortplan_cli` does that, so the engine itself never imports the simulator.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from engine.cli import AllocatorOption, app, replay_file
from engine.console import console, progress
from simulator.demo import run_demo
from simulator.params import GeneratorParams
from simulator.writer import generate as write_events


@app.command()
def generate(
    output: Path = typer.Option(Path("events.jsonl"), "-o", "--output", help="Event file to write (JSONL)."),
    region_profile: str = typer.Option("default", help="Region reference profile and its generator preset: "
                                                       "default, west (engine/domain/data, simulator/params.py)."),
    weeks: int = typer.Option(104, min=1, max=520, help="Weeks of events to generate."),
    seed: int = typer.Option(7, help="Random seed: same seed, same file."),
    start: Optional[str] = typer.Option(None, help="First Monday (YYYY-MM-DD); default 2024-11-25."),
    requirements_per_year: Optional[float] = typer.Option(None, min=1, help="New programme requirements a year "
                                                                       "(default: the profile's, 1,100)."),
    scale: float = typer.Option(1.0, min=0.01, help="Multiplies demand and capacity."),
    facilitator_fte: Optional[float] = typer.Option(None, min=0, help="Facilitator FTE at scale 1 (default: the "
                                                                      "profile's, 14)."),
    programme_mix: str = typer.Option("building-choices", help="building-choices | legacy."),
) -> None:
    """Write a realistic, reproducible event stream for a synthetic region."""
    given = dict(weeks=weeks, seed=seed, requirements_per_year=requirements_per_year, scale=scale,
                 facilitator_fte=facilitator_fte, programme_mix=programme_mix)
    kwargs = {k: v for k, v in given.items() if v is not None}
    if start:
        try:
            kwargs["start"] = date.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter(f"--start {start!r} is not a date like 2024-11-25") from None
    try:
        params = GeneratorParams.for_profile(region_profile, **kwargs)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with progress("generating", None) as bar:
        summary = write_events(params, output, progress=bar)
    console.print(f"wrote {summary.lines} events to {output}")


@app.command()
def demo(
    out: Path = typer.Option(Path("out"), help="Directory for the database, events and outputs."),
    weeks: int = typer.Option(104, min=8, help="Weeks to simulate."),
    seed: int = typer.Option(7), scale: float = typer.Option(1.0, min=0.05),
    allocator: str = AllocatorOption,
    time_limit: float = typer.Option(1.0, min=0.1, help="CP-SAT seconds per weekly plan."),
) -> None:
    """Generate a region, replay it planning weekly, and print what happened."""
    run_demo(console, out, weeks, seed, scale, allocator, progress, replay_file, time_limit)
