"""Shared fixtures.

- ``sqlite_url``: a SQLite database file in the test's tmp dir (for SQLite-only tests).
- ``database_url``: parametrized ``sqlite`` / ``postgres``; the postgres case gets a fresh
  database on the session PostgreSQL server and carries ``pytest.mark.postgres``.
- ``store``: parametrized ``memory`` / ``sqlite`` / ``postgres`` (tests/support/stores.py); tests/unit
  overrides it with the in-memory store only, tests/integration/on_databases with the two SQL ones.
- ``postgres_server``: the session's throwaway PostgreSQL server. It is started lazily,
  only when a selected test actually needs it, and a missing server is a FAILURE, not a skip.
- ``kafka_broker``: the session's real single-node Kafka broker (tests/support/kafka_broker.py), for
  tests/integration/kafka and tests/faults; started lazily, and one that cannot start is a FAILURE.
  ``own_kafka_broker`` (``started_broker(dir)``) is a private one, for a test that restarts its broker (a restart
  of the shared one reloads every topic the session made before it, and takes longer the later it runs).
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.kafka_broker import KafkaBroker
from tests.support.postgres import PostgresServer, PostgresUnavailable
from tests.support.stores import MemoryTestStore, SqlTestStore


# Shared, noisy machines: no per-example time limit (speed is measured in bench/, not asserted here).
settings.register_profile("cohortplan", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("cohortplan")


@pytest.fixture(scope="session", autouse=True)
def _alert_file(tmp_path_factory) -> Iterator[None]:
    """Alerts the embedded runs append to a JSONL file go to the session's tmp dir, not the checkout's out/."""
    import os
    key = "COHORTPLAN_ALERT_JSONL_PATH"
    before = os.environ.get(key)
    os.environ[key] = str(tmp_path_factory.mktemp("alerts") / "alerts.jsonl")
    yield
    if before is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = before


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    missing = None
    try:
        server.start()
    except PostgresUnavailable as exc:
        missing = str(exc)
    if missing is not None:
        pytest.fail(
            f"{missing}. PostgreSQL is required (never skipped): run the suite via scripts/test, "
            "which installs the Debian 'postgresql' package (apt-get install -y postgresql) when "
            "pg_ctl/initdb are missing, or set COHORTPLAN_TEST_POSTGRES_URL to an existing "
            "server's admin URL.",
            pytrace=False,
        )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/cohortplan.db"


SQL_STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
ALL_STORES = [pytest.param("memory", id="memory"), *SQL_STORES]


@contextmanager
def _database(kind: str, request, tmp_path) -> Iterator[str]:
    """The URL of a fresh database: a SQLite file in the test's tmp dir, or a new database on the session's
    PostgreSQL server (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/cohortplan.db"
        return
    # Resolved lazily so the server only starts when a postgres case is selected.
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    yield url
    try:
        server.drop_database(name)
    except Exception as exc:  # best effort: a throwaway server is deleted anyway
        warnings.warn(f"could not drop test database {name}: {exc}", stacklevel=1)


@contextmanager
def open_store(kind: str, request, tmp_path) -> Iterator[MemoryTestStore | SqlTestStore]:
    """A fresh store of this kind (``memory``, ``sqlite``, ``postgres``), schema migrated, disposed afterwards."""
    if kind == "memory":
        yield MemoryTestStore()
        return
    with _database(kind, request, tmp_path) as url:
        store = SqlTestStore(url, kind)
        try:
            yield store
        finally:
            store.dispose()


@pytest.fixture(params=SQL_STORES)
def database_url(request, tmp_path) -> Iterator[str]:
    with _database(request.param, request, tmp_path) as url:
        yield url


@pytest.fixture(params=ALL_STORES)
def store(request, tmp_path) -> Iterator[MemoryTestStore | SqlTestStore]:
    """Every store the engine runs on: in memory, SQLite, PostgreSQL (tests/unit narrows it to memory)."""
    with open_store(request.param, request, tmp_path) as opened:
        yield opened


@contextmanager
def started_broker(run_dir: Path) -> Iterator[KafkaBroker]:
    """A real single-node broker in ``run_dir``, stopped afterwards; a broker that cannot start fails the test
    with the reason and the tail of its log (never a skip)."""
    from tests.support.kafka_broker import KafkaError, KafkaUnavailable

    broker = KafkaBroker(run_dir)
    failure: str | None = None
    try:
        broker.fetch()
        broker.start()
    except KafkaUnavailable as exc:
        failure = (
            f"{exc}\nKafka is required (never skipped): run the suite via scripts/test, which "
            "installs java and mvn when missing and fetches the broker jars up front."
        )
    except KafkaError as exc:  # its message ends with the tail of the broker log
        failure = f"Kafka broker {broker.version} did not start: {exc}"
    except Exception as exc:  # unexpected: still show what the broker logged
        failure = f"Kafka broker {broker.version} did not start: {exc!r}\n{broker.log_tail()}"
    if failure is not None:
        broker.kill()
        pytest.fail(failure, pytrace=False)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """The session's shared broker (every service under test has its own topics and groups)."""
    with started_broker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker


@pytest.fixture
def own_kafka_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A broker of the test's own, for a test that restarts it (see ``started_broker``)."""
    with started_broker(tmp_path / "kafka") as broker:
        yield broker
