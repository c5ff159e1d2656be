"""The unit layer runs without a database: the engine's store here is the in-memory one.

- ``store``: a fresh in-memory store (tests/support/stores.py), overriding the memory / SQLite / PostgreSQL
  parametrization of tests/conftest.py. Modules whose tests should run on the SQL stores too are re-run
  from tests/integration/on_databases.
- ``memory_bootstrap``: :func:`engine.bootstrap.bootstrap` wired as usual, with an in-memory store (a
  fresh one, or the one a test passes) in place of the database.
- The guard: a test that opens a database connection (any SQLAlchemy pool, SQLite or PostgreSQL) fails,
  as does asking for ``database_url`` or ``postgres_server``. A test that truly needs SQL belongs in
  tests/integration.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from engine.bootstrap import Engine
from engine.persistence.memory import MemoryStore
from engine.settings import EngineSettings
from tests.support.stores import MemoryTestStore

WHY = ("the unit layer runs without a database (tests/unit/conftest.py): use the `store` fixture (the "
       "in-memory store) or move the test to tests/integration")


class DatabaseInUnitTest(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_database(request) -> Iterator[None]:
    opened: list[str] = []

    def refuse(dbapi_connection, record) -> None:
        opened.append(type(dbapi_connection).__module__)
        raise DatabaseInUnitTest(WHY)

    event.listen(Pool, "connect", refuse)
    try:
        yield
    finally:
        event.remove(Pool, "connect", refuse)
    if opened:  # also when the test (or a thread of it) swallowed the error
        pytest.fail(f"{request.node.nodeid} opened a database connection ({opened[0]}); {WHY}", pytrace=False)


@pytest.fixture
def store() -> MemoryTestStore:
    return MemoryTestStore()


@pytest.fixture
def database_url():
    pytest.fail(f"database_url asked for: {WHY}", pytrace=False)


@pytest.fixture
def postgres_server():
    pytest.fail(f"postgres_server asked for: {WHY}", pytrace=False)


@pytest.fixture
def memory_bootstrap(monkeypatch) -> Callable[..., Engine]:
    """``memory_bootstrap(settings, store=None)``: ``bootstrap(settings)`` as the CLI and the service call it,
    on ``store`` (a fresh in-memory store by default) instead of the database the settings name. The
    engine's ``database`` is the :class:`~engine.persistence.memory.MemoryStore`."""
    import engine.bootstrap

    def boot(settings: EngineSettings | None = None, store: MemoryTestStore | None = None) -> Engine:
        memory = store.store if store is not None else MemoryStore()
        monkeypatch.setattr(engine.bootstrap, "Database", lambda url, run_migrations=True: memory)
        return engine.bootstrap.bootstrap(settings)
    return boot
