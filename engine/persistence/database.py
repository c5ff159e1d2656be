"""Engine creation (SQLite tuned for a single writer, PostgreSQL as is) and Alembic upgrades."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from engine.persistence.held import HeldQueries, ReadAppends
from engine.persistence.uow import SqlUnitOfWork


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def in_memory(url: str) -> bool:
    """Whether ``url`` is a SQLite database in memory (``sqlite://``, ``:memory:``, or a ``mode=memory`` URI): one
    only the process that opened it can see."""
    if not url.startswith("sqlite"):
        return False
    parsed = make_url(url)
    return parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"


def _created(url: str, **options) -> Engine:
    """``create_engine``, with SQLite's pragmas on every connection it opens."""
    engine = create_engine(url, **options)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@lru_cache(maxsize=16)
def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if not in_memory(url):
            Path(make_url(url).database).parent.mkdir(parents=True, exist_ok=True)
        return _created(url)
    return _created(url, pool_pre_ping=True)


@lru_cache(maxsize=16)
def held_engine(url: str) -> Engine:
    """Where connections kept by one holder each come from (engine/persistence/held.py): outside the pool the units
    of work share, so holding them takes nothing from it (NullPool: a kept connection is closed when its holder lets
    it go or is collected; no ping, its holder replaces one found dead). A SQLite database in memory is one
    connection's own: it keeps the shared engine."""
    return make_engine(url) if in_memory(url) else _created(url, poolclass=NullPool)


def alembic_config(url: str) -> Config:
    here = resources.files("engine.persistence")
    config = Config()
    config.set_main_option("script_location", str(here / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


MIGRATION_LOCK = 0x636F686F72  # "cohor": PostgreSQL advisory lock held while migrating


def migrate(url: str) -> None:
    """Bring the schema to the latest Alembic revision (idempotent).

    On PostgreSQL, workers starting together on a fresh database take turns (a transaction-scoped
    advisory lock): the first creates the schema, the others find it at head.
    """
    config = alembic_config(url)
    with make_engine(url).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be opened or migrated; the message says which and what to do."""


def redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


class Database:
    """Factory of units of work over one database URL."""

    def __init__(self, url: str, run_migrations: bool = True) -> None:
        self.url = url
        try:
            if run_migrations:
                migrate(url)
            self._sessions = sessionmaker(make_engine(url), expire_on_commit=False)
        except (ArgumentError, OperationalError, NoSuchModuleError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise DatabaseUnavailable(
                f"cannot open database {redacted(url)}: {reason}. Set COHORTPLAN_DATABASE_URL (or --database-url) "
                "to a writable SQLite path (sqlite:///out/cohortplan.db) or a reachable PostgreSQL URL "
                "(postgresql+psycopg://user@host:5432/db)") from None

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions)

    @property
    def in_memory(self) -> bool:
        """Whether only this process can see the database (:func:`in_memory`)."""
        return in_memory(self.url)

    def held_queries(self) -> HeldQueries:
        """The state version and limited-access rules on one kept connection (engine/persistence/held.py)."""
        return HeldQueries(held_engine(self.url))

    def read_appends(self) -> ReadAppends:
        """Appends to the audit of reads on one kept connection (engine/persistence/held.py)."""
        return ReadAppends(held_engine(self.url))

    def dispose(self) -> None:
        make_engine(self.url).dispose()
        held_engine(self.url).dispose()


def queries(db: Database):
    from engine.persistence.queries import Queries
    return Queries(db._sessions())
