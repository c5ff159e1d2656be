"""The engine's half of the ``cohortplan`` command: replay, plan, explain and look at the waiting list.

The synthetic-region commands (generate, demo) live in :mod:`simulator.cli`, the broker commands in
:mod:`streams.cli`; :mod:`cohortplan_cli` puts them together.

The what-if commands live in :mod:`engine.whatif_cli`.
"""
from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from engine.bootstrap import ALLOCATORS, Engine
from engine.console import console, open_engine, progress
from engine.services.explain import latest_starts_of, place_notes, plan_reason

logging.basicConfig(level=logging.WARNING, format="%(message)s",
                    handlers=[RichHandler(console=Console(stderr=True), show_path=False)])
app = typer.Typer(help="cohortplan: waiting lists and cohort allocation for accredited programmes.",
                  no_args_is_help=True, add_completion=False)
schemas_app = typer.Typer(help="Event schemas (JSON Schema export).", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")

DbOption = typer.Option(None, "--database-url", envvar="COHORTPLAN_DATABASE_URL",
                        help="SQLAlchemy URL (default: SQLite file out/cohortplan.db).")


def check_allocator(name: str) -> str:
    if name not in ALLOCATORS:
        raise typer.BadParameter(f"unknown allocator {name!r}; choose one of {', '.join(ALLOCATORS)}")
    return name


AllocatorOption = typer.Option("cpsat", callback=check_allocator, help="cpsat | current-practice | fifo.")


@app.command()
def replay(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Event file (JSONL) to apply."),
    database_url: Optional[str] = DbOption,
    plan_every_days: int = typer.Option(0, min=0, help="Plan on the event clock every N days (0: never)."),
    allocator: str = AllocatorOption,
    batch_size: int = typer.Option(2000, min=1, help="Events per transaction."),
    time_limit: Optional[float] = typer.Option(None, min=0.1, help="CP-SAT seconds per plan (default: settings)."),
    rate: Optional[float] = typer.Option(None, min=0.01, max=1_000_000, help="At most this many events a second, "
                                         "each due event committed before the next is awaited, as a worker would "
                                         "(a backlog into a live database without starving its readers). "
                                         "Default: as fast as it goes."),
) -> None:
    """Apply an event file in-process against the database (bad lines go to the dead letters)."""
    engine = open_engine(database_url, batch_size=batch_size, solver_time_limit_s=time_limit)
    summary = replay_file(engine, file, plan_every_days, allocator, rate)
    _print_ingest(summary)
    if summary.ingest.dead_lettered:
        q = engine.queries()
        for letter in q.dead_letters(5):
            console.print(f"[yellow]{escape(letter['origin'])} line {letter['line_number']}[/yellow]: "
                          f"{escape(letter['reason'])}")
        console.print("all rejected lines, with reasons: cohortplan deadletters")


def replay_file(engine: Engine, file: Path, plan_every_days: int, allocator: str, rate: float | None = None):
    from engine.services.replay import Pace, Replay, read_lines
    engine.load_region()
    events = list(read_lines(file))
    planner = engine.planner(allocator) if plan_every_days else None
    with engine.outbox_readers() as readers:
        runner = Replay(engine.ingestor, planner, timedelta(days=plan_every_days) if plan_every_days else None,
                        engine.settings.batch_size, after_plan=readers.drain, pace=Pace(rate) if rate else None)
        with progress(f"replaying {file.name}", len(events)) as advance:
            summary = runner.run(events, progress=advance)
        readers.drain()  # what the last batches decided (dead letters, refused confirmations…)
        return summary


def _print_ingest(summary) -> None:
    r = summary.ingest
    rate = r.received / summary.seconds if summary.seconds else 0
    console.print(f"events {r.received:,}: applied {r.applied:,}, duplicates {r.duplicates:,}, stale {r.stale:,}, "
                  f"parked {r.parked:,} (released {r.unparked:,}), dead letters {r.dead_lettered:,} "
                  f"in {summary.seconds:.1f} s ({rate:,.0f} events/s); plans {len(summary.plans)}")


@app.command()
def plan(
    database_url: Optional[str] = DbOption,
    region: Optional[str] = typer.Option(None, help="Region code (default: the region profile's)."),
    as_of: Optional[str] = typer.Option(None, help="Plan date YYYY-MM-DD (default: today)."),
    allocator: str = AllocatorOption,
    time_limit: Optional[float] = typer.Option(None, min=0.1, help="CP-SAT seconds (default: settings)."),
) -> None:
    """Allocate now and publish the plan (allocation events go to the outbox)."""
    engine = open_engine(database_url, solver_time_limit_s=time_limit)
    region = region or engine.load_region()
    with engine.outbox_readers() as readers:
        outcome = engine.planner(allocator).plan(region, date.fromisoformat(as_of) if as_of else date.today())
        readers.drain()
    console.print(f"plan {outcome.plan_version} for {region} as of {outcome.as_of} ({outcome.plan.allocator}): "
                  f"{len(outcome.plan.assignments)} placed, {len(outcome.plan.unallocated)} unplaced, "
                  f"{outcome.made} made, {outcome.changed} changed, {outcome.removed} removed, "
                  f"{outcome.opened} cohorts opened, {len(outcome.at_risk)} at risk; alerts "
                  f"{outcome.alerts.raised} raised, {outcome.alerts.updated} updated, {outcome.alerts.cleared} cleared")
    p = outcome.plan
    gap = f", gap {p.gap:.2%}" if p.gap is not None else ""
    console.print(f"status {p.status}{gap} in {p.solve_seconds:.1f} s; deadline misses "
                  f"{p.objective.get('deadline_misses', 0):g}, median wait {p.objective.get('median_wait_weeks', 0):g} "
                  f"weeks" + (f"; {escape(p.note)}" if p.note else ""))


@app.command()
def explain(
    crn: str, database_url: Optional[str] = DbOption,
    as_of: Optional[str] = typer.Option(None, help="Plan date (default: the region's last plan date)."),
    allocator: str = AllocatorOption,
) -> None:
    """Why this person has the cohort they have, or none: the plan's reason, re-derived without publishing."""
    engine = open_engine(database_url)
    found = engine.queries().person(crn)
    if found is None:
        console.print(f"[red]no person with crn {crn}[/red]; check the crn or replay the events first")
        raise typer.Exit(1)
    region = found["region"]
    planner = engine.planner(allocator)
    day = date.fromisoformat(as_of) if as_of else planner.last_planned(region) or date.today()
    snapshot, plan = planner.dry_run(region, day)
    notes = place_notes(engine.database.uow, engine.rules, region, found["referrals"])
    for referral in found["referrals"]:
        rid, allocation = referral["referral_id"], referral.get("allocation")
        why = plan_reason(rid, snapshot.pinned, plan, allocation["cohort_id"] if allocation else None)
        lines = [f"{rid} ({referral['programme_code']}, {referral['status']}): {why}",
                 *(f"  {note}" for note in notes.get(rid, ()))]
        console.print(escape("\n".join(lines)))


@app.command()
def waitlist(
    database_url: Optional[str] = DbOption,
    region: Optional[str] = typer.Option(None), programme: Optional[str] = typer.Option(None),
    as_of: Optional[str] = typer.Option(None, help="Date to count weeks left from (default: today)."),
    limit: int = typer.Option(30, min=1),
) -> None:
    """The waiting list in allocation order (risk, then deadline); crn and ids only."""
    q = open_engine(database_url).queries()
    today = date.fromisoformat(as_of) if as_of else date.today()
    # Still actionable first (risk, then deadline); those already past their deadline at the end.
    rows = sorted(q.waitlist(region, programme), key=lambda r: r["deadline"] <= today)
    expired = sum(1 for r in rows if r["deadline"] <= today)
    table = Table("referral", "crn", "programme", "risk", "pdu", "referred", "deadline", "weeks left",
                  title=f"{len(rows)} waiting on {today}, {expired} already past their deadline")
    for r in rows[:limit]:
        weeks = (r["deadline"] - today).days // 7
        table.add_row(r["referral_id"], r["crn"], r["programme_code"], r["risk_band"], r["pdu_code"],
                      str(r["referred_on"]), str(r["deadline"]), str(weeks) if weeks >= 0 else "[red]passed[/red]")
    console.print(table)


@app.command()
def status(crn: str, database_url: Optional[str] = DbOption) -> None:
    """Everything cohortplan knows about one case: sentences, referrals, history, allocation."""
    engine = open_engine(database_url)
    found = engine.queries().person(crn)
    if found is None:
        console.print(f"[red]no person with crn {crn}[/red]; check the crn or replay the events first")
        raise typer.Exit(1)
    for referral in found["referrals"]:
        referral["latest_start"] = _latest_starts(engine, referral, found["sentences"])
    console.print_json(json.dumps(found, default=str))


def _latest_starts(engine: Engine, referral: dict, sentences: list[dict]) -> dict[str, str | None]:
    """Per usual weekly pattern, the last start date that still finishes before the deadline."""
    found = latest_starts_of(engine.rules, engine.settings.deadline_margin_days, referral)
    return {label: (d.isoformat() if d else None) for label, d in found.items()}


@app.command()
def deadletters(database_url: Optional[str] = DbOption, limit: int = typer.Option(50, min=1)) -> None:
    """Rejected input with line/offset and the reason."""
    q = open_engine(database_url).queries()
    table = Table("line", "origin", "reason", title=f"{q.dead_letter_count()} dead letters")
    for d in q.dead_letters(limit):
        table.add_row(str(d["line_number"] or d["offset"] or ""), escape(d["origin"]), escape(d["reason"]))
    console.print(table)


@app.command()
def parked(database_url: Optional[str] = DbOption, limit: int = typer.Option(50, min=1)) -> None:
    """Events waiting for something not seen yet, longest waiting first, and where they came from."""
    engine = open_engine(database_url)
    q, hours = engine.queries(), engine.settings.park_timeout_hours
    table = Table("event id", "type", "waiting for", "since (event time)", "waited", "origin", "line",
                  title=f"{q.parked_count()} parked events (a dead letter after {hours} h of event time)")
    for p in q.parked(limit):
        where = p["line_number"] if p["line_number"] is not None else (
            f"{p['partition']}@{p['offset']}" if p["offset"] is not None else "")
        table.add_row(p["event_id"], p["event_type"] or "", escape(p["waiting_for"]), p["parked_at"] or "",
                      f"{p['waited_hours']} h", escape(p["origin"] or ""), str(where))
    console.print(table)


@app.command()
def alerts(
    database_url: Optional[str] = DbOption,
    region: Optional[str] = typer.Option(None, help="Region code ('*' for alerts about no region)."),
    kind: Optional[list[str]] = typer.Option(None, "--kind", help="Alert kind (repeatable), e.g. deadline.at_risk."),
    severity: str = typer.Option("INFO", help="Lowest severity shown: INFO | WARNING | CRITICAL."),
    pdu: Optional[str] = typer.Option(None, help="PDU code."),
    subject: Optional[str] = typer.Option(None, help="Subject id (referral, cohort or facilitator id)."),
    sweep: bool = typer.Option(False, "--sweep", help="Run the alert sweep first (raises, updates, clears)."),
    as_of: Optional[str] = typer.Option(None, help="Date for --sweep (default: the region's last plan date)."),
    limit: int = typer.Option(50, min=1), as_json: bool = typer.Option(False, "--json", help="JSON lines."),
) -> None:
    """Open alerts, most severe and most urgent first; crn and ids only."""
    from engine.alerts.model import Severity
    from engine.alerts.rules import KINDS
    try:
        floor = Severity(severity.upper())
    except ValueError:
        raise typer.BadParameter(f"unknown severity {severity!r}; choose INFO, WARNING or CRITICAL") from None
    unknown = sorted(set(kind or ()) - set(KINDS))
    if unknown:
        raise typer.BadParameter(f"unknown alert kind {', '.join(unknown)}; known: {', '.join(sorted(KINDS))}")
    engine = open_engine(database_url)
    if sweep:
        _sweep_alerts(engine, region, as_of)
    rows = [r for r in engine.queries().open_alerts(region, kind, pdu, subject)
            if Severity(r["severity"]).rank >= floor.rank]
    if as_json:
        for r in rows[:limit]:
            console.print_json(json.dumps(r, default=str), indent=None)
        return
    table = Table("severity", "act by", "kind", "subject", "region", "pdu", "state", "reason",
                  title=f"{len(rows)} open alerts" + (f" (showing {limit})" if len(rows) > limit else ""))
    colours = {"CRITICAL": "red", "WARNING": "yellow", "INFO": "cyan"}
    for r in rows[:limit]:
        table.add_row(f"[{colours[r['severity']]}]{r['severity']}[/]", r["act_by"] or "", r["kind"],
                      f"{r['subject_type']} {r['subject_id']}", r["region_code"], r["pdu_code"] or "",
                      _workflow(r), escape(r["reason"]))
    console.print(table)


def _workflow(row: dict) -> str:
    """Where ops staff are with the alert (the API's workflow): OPEN, ASSIGNED → user, SNOOZED until a date …"""
    from engine.alerts.states import WorkflowState, state_of
    state = state_of(row)
    text = state.value + (f" → {row['assigned_to']}" if row.get("assigned_to") else "")
    if state is WorkflowState.SNOOZED and row.get("snoozed_until"):
        text += f" until {row['snoozed_until']}"
    return escape(text)


def _sweep_alerts(engine: Engine, region: str | None, as_of: str | None) -> None:
    from engine.services.planning import planned_regions
    with engine.database.uow() as uow:
        planned = planned_regions(uow)
    regions = [region] if region and region != "*" else sorted(planned) or [engine.load_region()]
    sweep = engine.alert_sweep()
    with engine.outbox_readers() as readers:
        for code in regions:
            today = date.fromisoformat(as_of) if as_of else planned.get(code, date.today())
            result = sweep.sweep(engine.database.uow, code, today)
            readers.drain()
            console.print(f"alert sweep {code} as of {today}: {result.raised} raised, {result.updated} updated, "
                          f"{result.cleared} cleared")


@app.command()
def deliver(
    database_url: Optional[str] = DbOption,
    follow: bool = typer.Option(False, "--follow", help="Keep delivering as new alerts are decided (Ctrl-C stops)."),
) -> None:
    """Send the outbox's alerts to the configured sinks (JSONL, webhook, email), each from its own cursor."""
    engine = open_engine(database_url)
    with engine.outbox_readers() as readers:
        if not readers.readers:
            raise typer.BadParameter("no alert sink is configured: set COHORTPLAN_ALERT_JSONL_PATH, "
                                     "COHORTPLAN_ALERT_WEBHOOK_URL or COHORTPLAN_ALERT_SMTP_HOST")
        if follow:
            try:
                readers.follow()
            except KeyboardInterrupt:
                pass
            return
        for name, drained in readers.drain().items():
            note = "; the sink is unreachable, the rest waits in the outbox" if drained.waiting else ""
            console.print(f"{name}: {drained.delivered:,} delivered{note}")


@schemas_app.command("export")
def schemas_export(directory: Path = typer.Argument(..., file_okay=False, help="Directory to write into.")) -> None:
    """Write one JSON Schema file per event type (plus the envelope)."""
    from engine.events.schemas import export_schemas
    written = export_schemas(directory)
    console.print(f"wrote {len(written)} schema files to {directory}")


@schemas_app.command("asyncapi")
def schemas_asyncapi(path: Path = typer.Argument(Path("docs/asyncapi.json"), dir_okay=False,
                                                 help="File to write (default docs/asyncapi.json).")) -> None:
    """Write the AsyncAPI 3.0 document for every topic, messages typed by the exported JSON Schemas."""
    from engine.events.asyncapi import build_asyncapi
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build_asyncapi(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    console.print(f"wrote {path}")


@app.command()
def report(
    region: str = typer.Option(..., help="Region code, e.g. RS."),
    as_of: Optional[str] = typer.Option(None, help="Report date YYYY-MM-DD (default: the region's last plan date)."),
    out: Optional[Path] = typer.Option(None, help="Output directory (default: settings' output_dir, out/)."),
    database_url: Optional[str] = DbOption,
) -> None:
    """Write the weekly planner report (one HTML file with charts, a CSV per table, JSON headline numbers)
    to OUT/reports/REGION/ and publish report.published once per region and date."""
    from engine.reports.publish import STEPS, UnknownRegion, known_regions, publish_weekly_report
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        console.print(f"[red]error:[/red] --as-of {escape(as_of)} is not a date like 2026-11-16")
        raise typer.Exit(2) from None
    engine = open_engine(database_url)
    if region not in (known := known_regions(engine.database)):
        console.print(f"[red]error:[/red] {escape(str(UnknownRegion(region, known)))}")
        raise typer.Exit(2)
    day = day or engine.planner().last_planned(region) or date.today()
    with progress(f"weekly report {region} as of {day}", STEPS) as bar:
        done = publish_weekly_report(engine.database, engine.rules, region, day, out or engine.settings.output_dir,
                                     progress=bar)
    h = done.report.headline
    console.print(f"{h['waiting']:,} waiting, {h['at_risk']:,} at risk, {h['forecast_misses_26w']:,} forecast misses "
                  f"in 26 weeks; wrote {len(done.csvs)} CSV files and {done.numbers.name}; report.published "
                  + ("emitted" if done.published else "already published for this date"))
    console.print(f"wrote {done.html}")


if __name__ == "__main__":
    app()
