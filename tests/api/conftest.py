"""The API on a real SQLite database: a small generated region replayed once per session, as the CLI does.

- ``region``: the replayed engine (16 weeks, scale 0.3, weekly current-practice plans, two bad lines that
  become dead letters, the weekly report as of the last plan), shared read-only by every test here.
- ``issuer``: a local RSA issuer (:class:`api.devauth.DevIssuer`); ``token(roles, regions)`` signs with it.
- ``client``: the app over that database, as a TestClient (a server error fails the test that caused it,
  and every test that used it checks afterwards that the app counted no 500 answer).
- ``writable_client``: the app over a copy of that database, one per test module, for the routes that change
  state (the alert workflow); ``copied(region, dir)`` makes such a copy for a test of its own.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
import sqlite3

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.devauth import DevIssuer
from engine.bootstrap import Engine, bootstrap
from engine.cli import replay_file
from engine.reports.publish import publish_weekly_report
from engine.services.ingest import RawEvent
from engine.settings import EngineSettings
from simulator import GeneratorParams, generate

REGION = "RS"


def event(event_type: str, key: str, payload: dict, version: int = 1, source: str = "ndelius") -> str:
    """An event line as a producer sends it, dated now."""
    return json.dumps({"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": version,
                       "occurred_at": datetime.now(timezone.utc).isoformat(), "source": source, "key": key,
                       "payload": payload})


def deprioritise(engine: Engine, item: dict) -> None:
    """A write of the item's region: its referral (a waiting-list row) deprioritised, as the referral system says."""
    result = engine.ingestor.process([RawEvent(event("referral.status_changed", item["crn"], {
        "referral_id": item["referral_id"], "crn": item["crn"], "to_status": "DEPRIORITISED"}), "test", 1)])
    assert result.applied == 1


@dataclass(frozen=True)
class Region:
    engine: Engine
    events: Path
    url: str


@pytest.fixture(scope="session")
def region(tmp_path_factory) -> Iterator[Region]:
    tmp = tmp_path_factory.mktemp("api-region")
    events = tmp / "events.jsonl"
    generate(GeneratorParams(weeks=16, seed=11, scale=0.3), events)
    lines = events.read_text().splitlines()
    events.write_text("\n".join(lines[:10] + ["{broken", '{"event_type": "person.updated"}'] + lines[10:]) + "\n")
    url = f"sqlite:///{tmp}/api.db"
    engine = replayed(url, events, tmp / "out")
    yield Region(engine, events, url)
    engine.database.dispose()


def replayed(url: str, events: Path, output_dir: Path) -> Engine:
    """The events replayed into the database at ``url`` as `cohortplan replay --plan-every-days 7` does, and
    the weekly report as of the last plan (`cohortplan report`)."""
    # groups at the programme's usual minimum: then this small region's last plan holds people on a cohort that
    # starts after the freeze, which the override tests act on (at the hard minimum, its rare variants' groups
    # all open sooner, inside the freeze)
    engine = bootstrap(EngineSettings(database_url=url, output_dir=output_dir, grid_rare_at_hard_minimum=False))
    replay_file(engine, events, 7, "current-practice")
    as_of = engine.planner("fifo").last_planned(REGION)
    publish_weekly_report(engine.database, engine.rules, REGION, as_of, engine.settings.output_dir)
    return engine


def copied(region: Region, directory: Path) -> Engine:
    """An engine over a copy of the replayed region's SQLite database (SQLite's backup: a consistent copy),
    reading the region's reports from where the region wrote them."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "copy.db"
    with sqlite3.connect(region.url.removeprefix("sqlite:///")) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return bootstrap(EngineSettings(database_url=f"sqlite:///{target}",
                                    output_dir=region.engine.settings.output_dir))


@pytest.fixture
def engine_copy(region, tmp_path) -> Iterator[Engine]:
    """An engine over a copy of the replayed region of its own, for one test."""
    engine = copied(region, tmp_path)
    yield engine
    engine.database.dispose()


@pytest.fixture(scope="module")
def writable_client(region, issuer, tmp_path_factory) -> Iterator[TestClient]:
    engine = copied(region, tmp_path_factory.mktemp("api-writable"))
    yield TestClient(create_app(engine, issuer.verifier()))
    engine.database.dispose()


@pytest.fixture(scope="session")
def issuer() -> DevIssuer:
    return DevIssuer.generate()


@pytest.fixture(scope="session")
def token(issuer) -> Callable[..., dict[str, str]]:
    def make(roles: Iterable[Role | str] = (Role.READ,), regions: Iterable[str] = (REGION,)) -> dict[str, str]:
        return {"Authorization": f"Bearer {issuer.token(roles, regions)}"}
    return make


@pytest.fixture(scope="session")
def client(region, issuer) -> TestClient:
    return TestClient(create_app(region.engine, issuer.verifier()))


@pytest.fixture(autouse=True)
def _no_server_errors(request) -> Iterator[None]:
    yield
    for name in ("client", "writable_client"):
        if name in request.fixturenames:
            registry = request.getfixturevalue(name).app.state.metrics_registry
            errors = [(s.labels["route"], s.value) for metric in registry.collect() for s in metric.samples
                      if s.name == "cohortplan_api_requests_total" and s.labels["status"] == "500" and s.value]
            assert not errors, f"the app answered 500 (a bug) on {errors}"
