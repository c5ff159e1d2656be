"""One connection kept for the statements a caller makes many times a second: :class:`Held`, and on it the API's
state marks (:class:`HeldQueries`) and the audit of reads' appends (:class:`ReadAppends`).

The API asks two things of the database for nearly every request: the state version (with the limited-access
rules when their mark moved) and, for a person-level answer, the audit row (api/coalesce.py, api/audit_log.py).
Through a unit of work or a :class:`~engine.persistence.queries.Queries` each cost an ORM session, a pooled
connection's checkout with its ping (``pool_pre_ping``) and its reset on return: three round trips for one
statement, and 0.6-0.8 ms of the server's CPU on PostgreSQL, where the statement alone takes 0.13 (BENCHMARKS.md,
issue 15, session 19). Here each caller keeps one connection and runs its statements on it in Core.

What the ping was for is kept: a connection found dead (the server restarted, the connection was closed under it)
is discarded and the work done once more on a new one — only when nothing it did can have taken effect (a read, or
a write's statements before its commit). Any other error is raised, the connection rolled back and kept.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from engine.domain.access import LimitedAccess
from engine.persistence import tables as t
from engine.persistence.queries import limited_access_on, state_version_on

T = TypeVar("T")


class Held:
    """One connection of ``engine`` (``database.held_engine``: outside the shared pool), kept by its caller
    (thread-safe: one caller's work at a time)."""

    def __init__(self, engine: Engine, autocommit: bool) -> None:
        self._engine, self._autocommit = engine, autocommit
        self._connection: Connection | None = None
        self._guard = threading.Lock()
        self.connects = 0  # connections opened (tests read it)

    def run(self, work: Callable[[Connection], T], commit: bool = False) -> T:
        """``work(connection)``, then the transaction committed if ``commit``. If the kept connection is found dead
        in ``work``, once more on a new one (nothing can have taken effect); never when the commit fails."""
        with self._guard:
            for attempt in (1, 2):
                connection = self._open()
                try:
                    answer = work(connection)
                except DBAPIError as exc:
                    self._recover(exc.connection_invalidated)
                    if exc.connection_invalidated and attempt == 1:
                        continue
                    raise
                except BaseException:
                    self._recover(False)
                    raise
                if commit:
                    try:
                        connection.commit()
                    except BaseException as exc:
                        self._recover(getattr(exc, "connection_invalidated", False))
                        raise
                return answer
            raise AssertionError("unreachable")  # pragma: no cover - the second attempt returns or raises

    def close(self) -> None:
        with self._guard:
            self._discard()

    def _open(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect()
            if self._autocommit:
                connection.execution_options(isolation_level="AUTOCOMMIT")  # each statement sees the latest commit
            self._connection, self.connects = connection, self.connects + 1
        return self._connection

    def _recover(self, dead: bool) -> None:
        if not dead and self._connection is not None:
            try:
                self._connection.rollback()
                return
            except DBAPIError:
                pass  # found dead while rolling back: discarded below
        self._discard()

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()  # an invalidated connection is closed without a round trip
            except DBAPIError:
                connection.invalidate()


class HeldQueries(Held):
    """The API's state version and limited-access rules, each statement on its own (autocommit: it sees every change
    committed before it began, as a new session would)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, autocommit=True)

    def state_version(self) -> tuple[tuple[str, str], ...]:
        """:meth:`engine.persistence.queries.Queries.state_version`."""
        return self.run(state_version_on)

    def limited_access(self) -> dict[str, LimitedAccess]:
        """:meth:`engine.persistence.queries.Queries.limited_access`."""
        return self.run(limited_access_on)


_AUDIT_INSERT = t.AuditReadRow.__table__.insert()


class ReadAppends(Held):
    """Rows appended to the audit of reads (``UnitOfWork.record_read``'s rows), a list of them in one transaction."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, autocommit=False)

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Commits ``rows`` together (raises what the insert or the commit raised; nothing is committed then, or,
        for a commit the connection died in, perhaps everything: its rows are not written again)."""
        if rows:
            self.run(lambda connection: connection.execute(_AUDIT_INSERT, rows), commit=True)
