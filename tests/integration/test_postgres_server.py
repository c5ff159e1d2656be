"""The postgres fixture gives a real, working PostgreSQL server."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.postgres
def test_server_is_real_postgresql(postgres_server):
    with psycopg.connect(_conninfo(postgres_server.url("postgres"))) as conn:
        (version,) = conn.execute("select version()").fetchone()
    assert "PostgreSQL" in version


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_database_url_gives_fresh_postgres_database(database_url):
    url = make_url(database_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "127.0.0.1"
    assert url.database.startswith("t_")
    with psycopg.connect(_conninfo(database_url)) as conn:
        assert conn.execute("select current_database()").fetchone()[0] == url.database
        conn.execute("create table t (id integer primary key, name text not null)")
        conn.execute("insert into t (id, name) values (%s, %s), (%s, %s)", (1, "a", 2, "ü"))
        conn.commit()
        rows = conn.execute("select id, name from t order by id").fetchall()
    assert rows == [(1, "a"), (2, "ü")]


def test_workers_starting_together_on_a_fresh_database_migrate_it_once(postgres_server):
    """Several processes open a new PostgreSQL database at once: one creates the schema, none fails."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from engine.persistence.database import Database, make_engine

    url = postgres_server.create_database(f"m_{uuid.uuid4().hex[:10]}")
    pool = ThreadPoolExecutor(4)
    try:  # without a lock the migrations collide (or wait on each other for ever): bounded here
        databases = [f.result(timeout=120) for f in [pool.submit(Database, url) for _ in range(4)]]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    with databases[0].uow() as uow:
        assert uow.get_state("anything") is None  # the schema is there
    make_engine(url).dispose()
