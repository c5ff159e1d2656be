"""A connection kept for statements made many times a second (engine/persistence/held.py), on SQLite and PostgreSQL:
it sees every commit made elsewhere at once, a connection found dead is replaced and the work done once more (as a
pooled connection's ping would have), and any other error is raised with the connection kept."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy.exc import DBAPIError

from engine.persistence.database import Database, make_engine


def row(n: int, **changed) -> dict:
    return dict(at=datetime.now(timezone.utc), actor=f"user-{n}", route="GET /referrals/{referral_id}",
                params={"referral_id": f"REF-{n}"}, crns=[f"X{n:06d}"], referral_ids=[f"REF-{n}"]) | changed


def audited(db: Database, n: int) -> list[dict]:
    with db.uow() as uow:
        return uow.reads_of(f"X{n:06d}")


def kill(held, url: str) -> None:
    """End the kept connection under it: the server ends its backend (PostgreSQL), or the driver's connection is
    closed (SQLite has no server to end it)."""
    connection = held._connection
    if url.startswith("sqlite"):
        connection.connection.dbapi_connection.close()
        return
    pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with make_engine(url).connect() as other:
        assert other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar() is True


def test_the_kept_connection_reads_each_commit_made_elsewhere_at_once(database_url):
    db = Database(database_url)
    marks = db.held_queries()
    first = marks.state_version()
    with db.uow() as uow:
        uow.set_state("clock", "2026-12-07T10:00:00+00:00")
        uow.commit()
    moved = marks.state_version()
    assert dict(moved)["clock"] == "2026-12-07T10:00:00+00:00" and moved != first
    assert marks.limited_access() == {} and marks.connects == 1
    marks.close()


def test_a_connection_found_dead_is_replaced_and_the_read_answered(database_url):
    marks = Database(database_url).held_queries()
    before = marks.state_version()
    kill(marks, database_url)
    assert marks.state_version() == before and marks.connects == 2
    marks.close()


def test_rows_appended_on_a_connection_found_dead_land_once(database_url):
    db = Database(database_url)
    appends = db.read_appends()
    appends.append([row(1)])
    kill(appends, database_url)
    appends.append([row(2), row(3)])
    assert [len(audited(db, n)) for n in (1, 2, 3)] == [1, 1, 1] and appends.connects == 2
    appends.close()


def test_another_error_is_raised_nothing_of_it_is_committed_and_the_connection_is_kept(database_url):
    db = Database(database_url)
    appends = db.read_appends()
    with pytest.raises(DBAPIError):
        appends.append([row(4), row(5, at=None)])  # a read's time is required
    appends.append([row(6)])
    assert [len(audited(db, n)) for n in (4, 5, 6)] == [0, 0, 1] and appends.connects == 1
    appends.close()
