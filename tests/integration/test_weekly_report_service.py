"""The stream worker's weekly report, on a SQLite file (the report's queries are SQL): written once per region
and date and published to the outbox."""
from __future__ import annotations

import asyncio

import pytest

from engine.bootstrap import bootstrap
from engine.services.ingest import RawEvent
from engine.settings import EngineSettings
from streams import service as service_module
from streams.service import EngineService
from tests.support.events import person_with_referral


@pytest.fixture
def svc(sqlite_url, monkeypatch):
    monkeypatch.setattr(service_module, "BACKOFF_S", (0.0,))
    engine = bootstrap(EngineSettings(database_url=sqlite_url, allocator="current-practice"))
    service = EngineService(engine)
    yield service
    service.close()


def _batch(lines):
    return [RawEvent(line, "programmes.referrals.v1", partition=0, offset=n) for n, line in enumerate(lines)]


def test_the_weekly_report_is_written_and_published_once_per_region_and_date(svc, tmp_path):
    import csv
    import json as _json
    lines = [line for i in range(5) for line in person_with_referral(f"X{i:06d}")]
    asyncio.run(svc.apply(_batch(lines)))
    path = asyncio.run(svc.weekly_report("RS", tmp_path))
    numbers = _json.loads(path.with_suffix(".json").read_text())
    by_programme = path.with_name(f"{path.stem}-waiting-by-programme.csv")
    summary = {"waiting": numbers["headline"]["waiting"], "as_of": numbers["as_of"], "waiting_by_programme": {
        r["programme"]: int(r["waiting"]) for r in csv.DictReader(by_programme.open(encoding="utf-8"))}}
    assert path.suffix == ".html" and 'data-chart="capacity"' in path.read_text()
    q = svc.engine.queries()
    try:
        waiting = q.waiting_by_programme()
        published = [r for r in q.outbox() if r["event_type"] == "report.published"]
    finally:
        q.close()
    assert summary["waiting"] == sum(waiting.values()) == 5
    assert summary["waiting_by_programme"] == waiting and summary["as_of"] == "2025-01-26"
    assert len(published) == 1 and str(path) in published[0]["message"]
    assert asyncio.run(svc.weekly_report("RS", tmp_path)) is None
