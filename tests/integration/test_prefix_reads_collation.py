"""The engine's prefix reads of engine_state (``LIKE 'prefix%'``: the intake's claims and refusals, the API's state
version) come from an index on a PostgreSQL database created with a language's collation, as production ones
are: the primary key's index answers a prefix only under the C collation (migration 0011)."""
from __future__ import annotations

import pytest
from psycopg import sql
from sqlalchemy import select

from engine.persistence import tables as t
from engine.persistence.database import Database, make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def language_collated(postgres_server):
    """A database whose default collation is ICU's en-GB (not byte order), migrated to head."""
    name = "t_icu_en_gb"
    postgres_server.drop_database(name)
    with postgres_server._admin_connect() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-GB'")
                      .format(sql.Identifier(name)))
    url = postgres_server.url(name)
    database = Database(url)
    yield url
    database.dispose()
    postgres_server.drop_database(name)


def plan_of(url: str, statement) -> str:
    with make_engine(url).connect() as connection:
        assert connection.exec_driver_sql(
            "SELECT datlocprovider FROM pg_database WHERE datname = current_database()").scalar() == "i"
        connection.exec_driver_sql("SET enable_seqscan = off")  # a small table: ask what an index can answer
        compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))


def test_a_prefix_read_is_an_index_condition_under_a_language_collation(language_collated):
    prefix = select(t.EngineStateRow.name).where(t.state_names_starting("offset:", "postgresql"))
    plan = plan_of(language_collated, prefix)
    assert t.NAME_PATTERN_INDEX in plan and "Index Cond" in plan, plan
