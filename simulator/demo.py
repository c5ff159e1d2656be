"""`cohortplan demo`: generate a region, replay it through the engine with weekly plans, print what a
planner needs."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from engine.bootstrap import bootstrap
from engine.alerts.sinks import AlertSinkSettings, JsonlSink, OutboxReader
from engine.events.registry import ALLOCATIONS
from engine.services import metrics
from engine.settings import EngineSettings
from simulator.params import GeneratorParams
from simulator.writer import generate


def run_demo(console: Console, out: Path, weeks: int, seed: int, scale: float, allocator: str,
             progress, replay, time_limit: float = 1.0) -> None:
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "cohortplan.db"
    for stale in [*out.glob("cohortplan.db*"), out / "alerts.jsonl", out / "allocations.jsonl"]:
        stale.unlink(missing_ok=True)  # the files' readers keep their cursors in that database
    events = out / "events.jsonl"
    params = GeneratorParams(weeks=weeks, seed=seed, scale=scale)
    with progress("generating region", None) as bar:
        generated = generate(params, events, progress=bar)
    console.print(f"generated {generated.lines:,} events for {weeks} weeks (seed {seed}) → {events}")
    engine = bootstrap(EngineSettings(database_url=f"sqlite:///{db_path}", output_dir=out,
                                      solver_time_limit_s=time_limit))
    engine.alert_sinks = AlertSinkSettings(jsonl_path=out / "alerts.jsonl", webhook_url=None, smtp_host=None)
    summary = replay(engine, events, 7, allocator)
    _report(console, engine, summary, params.start, out)


def _report(console: Console, engine, summary, window_start: date, out: Path) -> None:
    q = engine.queries()
    last = summary.plans[-1] if summary.plans else None
    as_of = last.as_of if last else window_start
    r = summary.ingest
    console.print(f"replayed {r.received:,} events with {len(summary.plans)} weekly plans "
                  f"({last.plan.allocator if last else '-'}) in {summary.seconds:.1f} s")
    waiting = Table("programme", "waiting", "deadline already passed", title=f"People waiting by programme on {as_of}")
    rows = q.waitlist()
    for code, n in q.waiting_by_programme().items():
        expired = sum(1 for r in rows if r["programme_code"] == code and r["deadline"] <= as_of)
        waiting.add_row(code, str(n), str(expired))
    console.print(waiting)
    outcomes = q.requirement_outcomes(as_of)
    share = metrics.start_share(outcomes, window_start, as_of)
    allocated, in_time = metrics.finishing_in_time(outcomes)
    counts = q.outbox_counts()
    made = counts.get("allocation.made", 0)
    console.print(f"allocations made: {made:,} (changed {counts.get('allocation.changed', 0):,}, removed "
                  f"{counts.get('allocation.removed', 0):,}); cohorts opened: {counts.get('cohort.proposed', 0):,}")
    console.print(f"referrals holding a place whose cohort finishes before their deadline: "
                  f"{in_time:,}/{allocated:,} ({in_time / max(allocated, 1):.1%})")
    console.print(f"requirements whose order ended in the window that started before it ended: "
                  f"{share.started_in_time:,}/{share.orders_ended:,} ({share.share:.1%}); median wait to start "
                  f"{share.median_wait_weeks or 0:.1f} weeks")
    open_alerts = Counter(a["kind"] for a in q.open_alerts())
    console.print(f"people at risk now (no place, and the latest start that still finishes in time is within "
                  f"8 weeks): {len(last.at_risk) if last else 0:,}; whose latest start has passed with no place: "
                  f"{len(last.missed) if last else 0:,}")
    console.print(f"alerts raised {counts.get('alert.raised', 0):,}, updated {counts.get('alert.updated', 0):,}, "
                  f"cleared {counts.get('alert.cleared', 0):,}; open now: "
                  + ", ".join(f"{kind} {n:,}" for kind, n in sorted(open_alerts.items())))
    console.print(f"dead letters: {q.dead_letter_count():,}")
    allocations = OutboxReader(JsonlSink(out / "allocations.jsonl", name="allocations.jsonl"), engine.database.uow,
                               batch=5000, topics=(ALLOCATIONS,))
    allocations.drain()  # the alerts' file was fed by its reader during the replay
    (out / "alerts.jsonl").touch()  # there even when no alert was raised
    for name in ("allocations.jsonl", "alerts.jsonl"):
        console.print(f"wrote {out / name}")
    (out / "summary.json").write_text(json.dumps({
        "as_of": str(as_of), "waiting_by_programme": q.waiting_by_programme(), "allocations_made": made,
        "orders_ended": share.orders_ended, "started_in_time": share.started_in_time,
        "start_share": round(share.share, 4), "finishing_in_time": [in_time, allocated],
        "at_risk": len(last.at_risk) if last else 0, "latest_start_passed": len(last.missed) if last else 0,
        "open_alerts": dict(sorted(open_alerts.items())), "dead_letters": q.dead_letter_count(),
        "events": r.received, "replay_seconds": round(summary.seconds, 2)}, indent=2))
    q.close()
    from engine.reports.publish import publish_weekly_report
    region = last.region_code if last else engine.load_region()
    report = publish_weekly_report(engine.database, engine.rules, region, as_of, out)
    console.print(f"wrote the weekly planner report {report.html}")
