"""The database ``scripts/demo`` leaves, opened for a benchmark: the engine and its planned region."""
from __future__ import annotations

import argparse
from datetime import date

from engine.bootstrap import Engine, bootstrap
from engine.services.planning import planned_regions
from engine.settings import EngineSettings


def demo_arguments(description: str, repeats: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url", default="sqlite:///out/cohortplan.db")
    parser.add_argument("--repeats", type=int, default=repeats)
    return parser.parse_args()


def open_demo(database_url: str) -> tuple[Engine, str, date]:
    """The engine on the database, the first planned region and the date it was last planned."""
    engine = bootstrap(EngineSettings(database_url=database_url))
    with engine.database.uow() as uow:
        planned = planned_regions(uow)
    if not planned:
        raise SystemExit(f"no planned region in {database_url}: run scripts/demo first")
    region, as_of = sorted(planned.items())[0]
    return engine, region, as_of
