"""Statements and time per single-event batch: what a live stream's event costs the ingest, counted.

Run by hand (never as a timed test):
    .venv/bin/python bench/ingest_statements.py [--database-url URL] [--warm 1500] [--events 500]

A generated region (20 weeks, seed 7) is applied one event per batch, as a worker at a low rate applies it:
``--warm`` events first, then ``--events`` counted (SQLAlchemy's ``before_cursor_execute``) and timed. Prints the
statements per batch, the milliseconds per event, and the statements by their first words. SQLite in a temporary
directory unless ``--database-url`` names another (an empty PostgreSQL database, migrated here).
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.bootstrap import bootstrap  # noqa: E402
from engine.persistence.database import make_engine  # noqa: E402
from engine.services.messages import RawEvent  # noqa: E402
from engine.settings import EngineSettings  # noqa: E402
from simulator import GeneratorParams, generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--warm", type=int, default=1500)
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-statements-"))
    generate(GeneratorParams(weeks=20, seed=7), work / "events.jsonl")
    lines = (work / "events.jsonl").read_text().splitlines()
    url = args.database_url or f"sqlite:///{work}/ingest.db"
    engine = bootstrap(EngineSettings(database_url=url))
    counted: collections.Counter[str] = collections.Counter()

    @event.listens_for(make_engine(url), "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):  # noqa: ARG001 - SQLAlchemy's signature
        counted[" ".join(statement.split()[:6])[:100]] += 1

    for offset, line in enumerate(lines[:args.warm]):
        engine.ingestor.process([RawEvent(raw=line, origin="bench", partition=0, offset=offset)])
    counted.clear()
    timed = lines[args.warm:args.warm + args.events]
    began = time.perf_counter()
    for offset, line in enumerate(timed, start=args.warm):
        engine.ingestor.process([RawEvent(raw=line, origin="bench", partition=0, offset=offset)])
    seconds = time.perf_counter() - began
    print(f"{sum(counted.values()) / len(timed):.1f} statements per single-event batch, "
          f"{seconds / len(timed) * 1000:.2f} ms per event ({url.split(':')[0]})")
    for statement, n in counted.most_common(25):
        print(f"{n / len(timed):6.2f}  {statement}")


if __name__ == "__main__":
    main()
