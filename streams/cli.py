"""The service half of the ``cohortplan`` command: worker, produce, tail, health.

The engine's commands (replay, plan, report…) live in :mod:`engine.cli`, which knows nothing of Kafka;
this module adds the broker commands to the same command. The console entry point is :mod:`cohortplan_cli`,
which also adds the simulator's (generate, demo).
"""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from engine.cli import app
from engine.console import console, open_engine, progress
from streams.settings import StreamSettings

BrokerOption = typer.Option(None, "--broker", envvar="COHORTPLAN_BROKER_URL",
                            help="Kafka bootstrap, kafka://host:port (default kafka://127.0.0.1:9092).")
DbOption = typer.Option(None, "--database-url", envvar="COHORTPLAN_DATABASE_URL",
                        help="SQLAlchemy URL (default: SQLite file out/cohortplan.db).")


def _settings(broker: str | None, **overrides) -> StreamSettings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if broker:
        values["broker_url"] = broker if "://" in broker else f"kafka://{broker}"
    return StreamSettings(**values)


def _unreachable(settings: StreamSettings, exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] cannot reach the Kafka broker at {settings.bootstrap_servers}: "
                  f"{escape(str(exc) or type(exc).__name__)}. Start one (scripts/kafka.sh start, or "
                  "docker compose up kafka) or set COHORTPLAN_BROKER_URL / --broker.")
    return typer.Exit(2)


def _declare_topics(settings: StreamSettings) -> list[str]:
    """Every topic with the configured partition count (the names created); exit 2 on another count."""
    from aiokafka.errors import KafkaError

    from streams.topics import TopicMismatch, ensure_topics

    try:
        return asyncio.run(ensure_topics(settings.bootstrap_servers, settings.all_topics, settings.partitions,
                                         settings.replication_factor))
    except TopicMismatch as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (KafkaError, OSError) as exc:
        raise _unreachable(settings, exc) from None


@app.command()
def worker(
    broker: Optional[str] = BrokerOption,
    database_url: Optional[str] = DbOption,
    loglevel: str = typer.Option("info", help="debug | info | warning | error."),
) -> None:
    """Run the service worker: consume the inbound topics, apply, re-plan, publish (Ctrl-C stops)."""
    import faust

    from engine.heap import settle
    from engine.settings import EngineSettings
    from streams.app import Worker
    from streams.ops import SharedSQLite, announce, sole_sqlite_worker

    settings = _settings(broker)
    group = settings.app_id if settings.inbound_group == settings.app_id else \
        f"{settings.app_id} (inbound topics: {settings.inbound_group}, {settings.consumer})"
    url = database_url or EngineSettings().database_url
    announce(url, settings.broker_url, group, settings.worker_id)
    try:
        sole_sqlite_worker(url)
    except SharedSQLite as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    engine = open_engine(database_url)
    engine.load_region()
    _declare_topics(settings)
    service = Worker(settings, engine)
    logging.getLogger("streams").setLevel(loglevel.upper())
    settle()  # what was built so far lives as long as the worker: out of the collector's walks (engine/heap.py)
    faust.Worker(service.app, loglevel=loglevel.upper()).execute_from_commandline()


topics_app = typer.Typer(help="The service's Kafka topics.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")


@topics_app.command("create")
def topics_create(
    broker: Optional[str] = BrokerOption,
    partitions: Optional[int] = typer.Option(None, min=1, envvar="COHORTPLAN_PARTITIONS",
                                             help="Partitions of every topic (default 6)."),
) -> None:
    """Create the project's topics (inbound, outbound, internal) with one partition count; idempotent.

    Run it before the first producer on a broker that does not create topics itself: producing to a topic
    that does not exist yet waits for metadata that never comes. Exit code 2 when a topic exists with
    another partition count."""
    settings = _settings(broker, partitions=partitions)
    created = _declare_topics(settings)
    for name in settings.all_topics:
        state = "created" if name in created else "exists"
        console.print(f"{escape(name)}: {state}, {settings.partitions} partitions", highlight=False)


@app.command()
def produce(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Event file (JSONL) to send."),
    broker: Optional[str] = BrokerOption,
    rate: Optional[float] = typer.Option(None, min=0.1, help="Events per second (default: as fast as possible)."),
    ordered: bool = typer.Option(False, "--ordered", help="Send each event once the one before it is acknowledged, "
                                 "so a worker already running applies them in event-time order (slower)."),
) -> None:
    """Send an event file to the inbound topics, in event-time order, keyed by the envelope key.

    Into a worker that is already running, send with ``--ordered``: batched, one topic's later events can reach
    the worker before another's earlier ones, and it applies them as a late producer's."""
    from aiokafka.errors import KafkaError

    from streams.kafka_io import plan_file
    from streams.kafka_io import produce as send
    from streams.topics import ensure_topics

    settings = _settings(broker)
    routed, skipped = plan_file(file, settings)
    for line, reason in skipped[:20]:
        console.print(f"[yellow]{escape(str(file))} line {line}[/yellow]: {escape(reason)}; not sent")
    try:
        asyncio.run(ensure_topics(settings.bootstrap_servers, settings.inbound_topics, settings.partitions,
                                  settings.replication_factor))
        with progress(f"producing {file.name}", len(routed)) as bar:
            sent = asyncio.run(send(routed, settings.bootstrap_servers, progress=bar, rate=rate, ordered=ordered))
    except (KafkaError, OSError) as exc:
        raise _unreachable(settings, exc) from None
    console.print(f"sent {sum(sent.values()):,} events: " + ", ".join(f"{t} {n:,}" for t, n in sorted(sent.items())))
    if skipped:
        console.print(f"[yellow]{len(skipped)} line(s) could not be routed to a topic and were not sent[/yellow]")
        raise typer.Exit(1)


@app.command()
def tail(
    topic: str = typer.Argument(..., help="Topic to read, e.g. programmes.allocations.v1 or programmes.alerts.v1."),
    broker: Optional[str] = BrokerOption,
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Start at the oldest message."),
    count: Optional[int] = typer.Option(None, min=1, help="Stop after this many messages."),
    idle: Optional[float] = typer.Option(None, min=0.1, help="Stop after this many seconds without a message."),
    raw: bool = typer.Option(False, "--json", help="Print each message as it was sent (JSON lines)."),
) -> None:
    """Print decisions, alerts or dead letters as they arrive (duplicates by message id are marked)."""
    from aiokafka.errors import KafkaError

    from streams.kafka_io import read_topics

    settings = _settings(broker)
    seen: set[str] = set()

    def show(item) -> None:
        duplicate = item.message_id in seen
        seen.add(item.message_id or "")
        if raw:
            console.print(item.value, markup=False, highlight=False)
            return
        try:
            payload = item.json().get("payload", {})
        except ValueError:
            payload = {}
        subject = payload.get("crn") or payload.get("subject_id") or payload.get("region_code") or item.key
        what = payload.get("cohort_id") or payload.get("reason") or ""
        console.print(f"{item.partition}:{item.offset} [bold]{escape(item.event_type or '?')}[/bold] "
                      f"{escape(str(subject))} {escape(str(what))}" + (" [yellow](duplicate)[/yellow]" if duplicate else ""))

    try:
        asyncio.run(read_topics([topic], settings.bootstrap_servers, idle_s=idle or 1.0, limit=count,
                                from_beginning=from_beginning, follow=idle is None, on_message=show))
    except (KafkaError, OSError) as exc:
        raise _unreachable(settings, exc) from None
    except KeyboardInterrupt:
        pass


@app.command()
def health(
    broker: Optional[str] = BrokerOption,
    database_url: Optional[str] = DbOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Consumer lag and offsets (broker end, group committed, applied in the database), outbox backlog,
    regions waiting for a plan. Exit code 1 when anything is behind."""
    from aiokafka.errors import KafkaError

    from engine.services.ingest import applied_offsets, dirty_regions
    from engine.services.planning import planned_regions
    from streams.kafka_io import lag

    settings = _settings(broker)
    engine = open_engine(database_url)
    with engine.database.uow() as uow:
        applied, dirty = applied_offsets(uow), dirty_regions(uow)
        planned = {region: day.isoformat() for region, day in planned_regions(uow).items()}
    q = engine.queries()
    try:
        backlog = q.outbox_backlog()
    finally:
        q.close()
    try:
        rows = asyncio.run(lag(settings, applied))
    except LookupError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (KafkaError, OSError) as exc:
        raise _unreachable(settings, exc) from None
    total = sum(r["lag"] for r in rows)
    report = dict(lag=total, partitions=rows, outbox_backlog=backlog, regions_dirty=dirty, last_planned=planned)
    if as_json:
        console.print(json.dumps(report, indent=2), markup=False, highlight=False)
    else:
        table = Table("topic", "partition", "end", "committed", "applied", "lag")
        for r in rows:
            table.add_row(r["topic"], str(r["partition"]), str(r["end"]), str(r["committed"]), str(r["applied"]),
                          str(r["lag"]))
        console.print(table)
        console.print(f"lag {total:,} · outbox backlog {backlog:,} · regions waiting for a plan: "
                      f"{', '.join(dirty) or 'none'} · last planned: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(planned.items())))
    if total or backlog:
        raise typer.Exit(1)


def main() -> None:
    app()
