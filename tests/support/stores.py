"""The stores tests run the engine on, behind one small interface: the in-memory store, a SQLite file and a
PostgreSQL database.

Each gives units of work (``uow``, what the engine uses) and, for the test's own checks, what is committed:
raw rows of a table as the store holds them (``rows``, ``count``), the canonical state export (``state``), and
the outbox and dead letters as plain rows (``outbox``, ``dead_letters``: on SQL the read side's answers,
:class:`engine.persistence.queries.Queries`; in memory the same rows in the same shape).
"""
from __future__ import annotations

from typing import Any

from engine.persistence.memory import ConstraintViolation, MemoryStore
from engine.persistence.rows import plain


class MemoryTestStore:
    kind = "memory"
    integrity_error: type[Exception] = ConstraintViolation

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    def uow(self):
        return self.store.uow()

    def rows(self, table: str, order_by: str | None = None) -> list[dict[str, Any]]:
        rows = self.store.rows(table)
        return sorted(rows, key=lambda r: r[order_by]) if order_by else rows

    def count(self, table: str) -> int:
        return len(self.store.rows(table))

    def state(self) -> dict[str, list[dict[str, Any]]]:
        return self.store.canonical_state()

    def outbox(self, topic: str | None = None) -> list[dict[str, Any]]:
        return [_plain(r) for r in self.store.rows("outbox") if topic is None or r["topic"] == topic]

    def dead_letters(self, limit: int = 50) -> list[dict[str, Any]]:
        return [_plain(r) for r in self.store.rows("dead_letters")[:limit]]

    def dead_letter_count(self) -> int:
        return self.count("dead_letters")

    def dispose(self) -> None:
        self.store.dispose()


class SqlTestStore:
    def __init__(self, url: str, kind: str) -> None:
        from sqlalchemy.exc import IntegrityError

        from engine.persistence.database import Database
        self.url, self.kind, self.integrity_error = url, kind, IntegrityError
        self.db = Database(url)

    def uow(self):
        return self.db.uow()

    def rows(self, table: str, order_by: str | None = None) -> list[dict[str, Any]]:
        """Raw rows of a table, straight from the database."""
        from sqlalchemy import select

        from engine.persistence.database import make_engine
        from engine.persistence.tables import Base
        columns = Base.metadata.tables[table]
        stmt = select(columns)
        if order_by is not None:
            stmt = stmt.order_by(columns.c[order_by])
        with make_engine(self.url).connect() as connection:
            return [dict(r) for r in connection.execute(stmt).mappings()]

    def count(self, table: str) -> int:
        from sqlalchemy import func, select

        from engine.persistence.database import make_engine
        from engine.persistence.tables import Base
        with make_engine(self.url).connect() as connection:
            return connection.execute(select(func.count()).select_from(Base.metadata.tables[table])).scalar_one()

    def _ask(self, question: str, *args):
        from engine.persistence.database import queries
        q = queries(self.db)
        try:
            return getattr(q, question)(*args)
        finally:
            q.close()

    def state(self) -> dict[str, list[dict[str, Any]]]:
        return self._ask("canonical_state")

    def outbox(self, topic: str | None = None) -> list[dict[str, Any]]:
        return self._ask("outbox", topic)

    def dead_letters(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._ask("dead_letters", limit)

    def dead_letter_count(self) -> int:
        return self._ask("dead_letter_count")

    def dispose(self) -> None:
        self.db.dispose()


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in row.items()}
