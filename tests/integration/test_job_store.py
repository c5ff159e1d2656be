"""The jobs table on SQLite and PostgreSQL: a queued job is claimed once however many runners race for it, a
claimed job is beaten and finished, and one whose runner stopped beating is failed saying so."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from engine.persistence.database import Database
from engine.persistence.jobs import JobStore

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(database_url) -> Iterator[JobStore]:
    database = Database(database_url)
    yield JobStore(database)
    database.dispose()


def queued(store: JobStore, job_id: str, at: datetime = NOW) -> None:
    store.submit(dict(job_id=job_id, region_code="RS", kind="WHATIF", request={"allocator": "fifo"},
                      submitted_by="planner-1", submitted_at=at))


def test_a_queued_job_is_claimed_by_one_runner_of_many(store):
    queued(store, "job-1")
    claims, start = [], threading.Barrier(4)

    def runner(name: str) -> None:
        start.wait()
        claims.append(store.claim(name, NOW))
    threads = [threading.Thread(target=runner, args=(f"runner-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0]["status"] == "RUNNING" and won[0]["runner"].startswith("runner-")
    assert store.claim("late", NOW) is None and store.queued("RS") == []


def test_the_oldest_is_claimed_first_and_a_silent_runner_s_job_is_failed_saying_so(store):
    queued(store, "newer", NOW)
    queued(store, "older", NOW - timedelta(minutes=1))
    alive, dead = store.claim("alive", NOW), store.claim("dead", NOW)
    assert (alive["job_id"], dead["job_id"]) == ("older", "newer")
    store.beat("older", NOW + timedelta(minutes=2))
    assert store.fail_abandoned(NOW + timedelta(minutes=1, seconds=30), NOW + timedelta(minutes=3)) == ["newer"]
    failed = store.get("newer")
    assert failed["status"] == "FAILED" and "(dead)" in failed["error"] and failed["finished_at"] is not None
    store.finish("older", NOW + timedelta(minutes=4), result={"answer_fte": 2})
    done = store.get("older")
    assert (done["status"], done["result"], done["error"]) == ("SUCCEEDED", {"answer_fte": 2}, None)
