"""Generic SQL repository: identity map, snapshot-based change detection, batched upserts."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from operator import itemgetter
from typing import Any, Callable, Generic, Iterable, TypeVar

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.persistence.identity_map import IdentityMap
from engine.persistence.tables import UtcDateTime

T = TypeVar("T")


def upsert(session: Session, row_cls: type, rows: list[dict[str, Any]], keys: Iterable[str]) -> None:
    """INSERT … ON CONFLICT DO UPDATE on SQLite and PostgreSQL alike, executed as one batch."""
    if not rows:
        return
    connection = session.connection()
    keys = list(keys)
    stmt = _upsert_statement(row_cls, tuple(rows[0]), tuple(keys), connection.dialect.name)
    if connection.dialect.name == "sqlite":
        _executemany_compiled(connection, stmt, rows)
    else:
        session.execute(stmt, rows)


@lru_cache(maxsize=128)
def _upsert_statement(row_cls: type, columns: tuple[str, ...], keys: tuple[str, ...], dialect_name: str):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(row_cls)
    updates = {c: stmt.excluded[c] for c in columns if c not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates) if updates else \
        stmt.on_conflict_do_nothing(index_elements=list(keys))


def _executemany_compiled(connection, stmt, rows: list[dict[str, Any]]) -> None:
    """Compile once, convert values with the columns' own bind processors, executemany on the driver.

    The same SQL and the same stored formats SQLAlchemy would produce, without its per-row parameter
    bookkeeping, which dominated batch commits on SQLite.
    """
    sql, values, converted = _compiled(stmt, tuple(rows[0]), connection.dialect)
    params = [values(row) for row in rows]
    if converted:  # only the columns whose type converts values (dates, JSON) pay for a call per value
        for i, row in enumerate(params):
            row = list(row)
            for position, process in converted:
                row[position] = process(row[position])
            params[i] = tuple(row)
    connection.exec_driver_sql(sql, params)


@lru_cache(maxsize=256)
def _compiled(stmt, columns: tuple[str, ...], dialect) -> tuple[str, Callable[[dict], tuple], tuple]:
    """SQL text, what reads a row's values in parameter order (a tuple) and the bind processors by position;
    statements come from caches too."""
    compiled = stmt.values({c: bindparam(c) for c in columns}).compile(dialect=dialect)
    names = tuple(compiled.positiontup)
    processors = [_sqlite_utc_text if dialect.name == "sqlite" and isinstance(stmt.table.c[n].type, UtcDateTime)
                  else stmt.table.c[n].type._cached_bind_processor(dialect) for n in names]
    values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    return str(compiled), values, tuple((i, p) for i, p in enumerate(processors) if p)


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """What :class:`UtcDateTime` binds on SQLite, in one C call: the instant in UTC as SQLAlchemy's SQLite
    ``DATETIME`` stores it (``YYYY-MM-DD HH:MM:SS.ffffff``, no offset). Checked against SQLAlchemy's own
    processor in tests/unit/engine/test_persistence_fast_paths.py."""
    if value is None:
        return None
    if value.tzinfo is timezone.utc:  # most values: no conversion to make
        value = value.replace(tzinfo=None)
    elif value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def insert_many(session: Session, row_cls: type, rows: list[dict[str, Any]]) -> None:
    """Plain batched INSERT (append-only tables: processed events, outbox, history, attendance)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _executemany_compiled(connection, _insert_statement(row_cls), rows)
    else:
        session.execute(row_cls.__table__.insert(), rows)


@lru_cache(maxsize=64)
def _insert_statement(row_cls: type):
    return row_cls.__table__.insert()


def insert_ignore(session: Session, row_cls: type, rows: list[dict[str, Any]], keys: Iterable[str]) -> None:
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(row_cls).on_conflict_do_nothing(index_elements=list(keys)), rows)


@lru_cache(maxsize=256)
def _lookup(row_cls: type, shape: tuple[tuple[str, str], ...]):
    """SELECT every column of ``row_cls`` WHERE each column in ``shape`` = its parameter (``one``), is among a
    list (``many``: IN, expanded when run) or IS NULL (``null``, as ``column == None`` reads); parameters are
    named as the columns."""
    stmt = select(*row_cls.__table__.columns)
    for column, kind in shape:
        attr = getattr(row_cls, column)
        stmt = stmt.where(attr.in_(bindparam(column, expanding=True)) if kind == "many"
                          else attr.is_(None) if kind == "null" else attr == bindparam(column))
    return stmt


class SqlRepository(IdentityMap[T], Generic[T]):
    """The identity map over one SQL table: reads by key, by column values and prefetched in chunks."""

    def __init__(self, session: Session, row_cls: type, key: str,
                 to_row: Callable[[T], dict[str, Any]], from_row: Callable[[dict[str, Any]], T],
                 indexed: tuple[str, ...] = ()) -> None:
        super().__init__(key, to_row, from_row)
        self._session, self._row_cls = session, row_cls
        self._columns = [c.name for c in row_cls.__table__.columns]
        self._absent: set[str] = set()                  # keys known not to exist (prefetched misses)
        self._covered: dict[str, set[Any]] = {}         # column -> values whose every row is loaded
        # In-memory indexes of the identity map for hot lookup columns. An entry can go stale when an
        # entity's value changes (say a case merge moves a crn): lookups re-check current values, and
        # code that changes an indexed value calls add() again to re-index.
        self._index: dict[str, dict[Any, set[str]]] = {column: {} for column in indexed}

    # reads ------------------------------------------------------------------------------------
    def get(self, key: str) -> T | None:
        entity = self._seen.get(key)
        if entity is not None:
            return entity
        if key in self._removed or key in self._absent:
            return None
        rows = self._select({self._key: key})
        return self._remember(rows)[0] if rows else None

    def where(self, **equals: Any) -> list[T]:
        """Stored matches merged with this unit of work's own changes, without flushing them.

        The database answers for what it holds; entities loaded or added here are re-checked in
        memory, so a change made earlier in the same transaction is seen (and a match it undid is not).
        """
        wanted = self._wanted(equals)
        if wanted is None:
            return []
        covered = self._covered
        for column, values in wanted.items():
            done = covered.get(column)
            if done is not None and values <= done:
                break  # every stored row with these values is held already
        else:
            self._remember(self._unheld(self._select(
                {column: list(values) if len(values) > 1 else next(iter(values)) for column, values in wanted.items()})))
        # Everything stored that matches is now in the identity map; filter it as it is now.
        return self._matching(self._candidates(wanted), wanted)

    def _select(self, equals: dict[str, Any]) -> list[dict[str, Any]]:
        """Stored rows whose columns equal the values given (a list: any of them), as dicts. One statement per
        shape of question, built once (:func:`_lookup`), run on the session's connection (SQLAlchemy Core):
        the same SQL and result types as the ORM session's execute, without building the query every time or
        the ORM's per-statement work."""
        stmt = _lookup(self._row_cls, tuple((c, "many" if isinstance(v, list) else "null" if v is None else "one")
                                            for c, v in equals.items()))
        result = self._session.connection().execute(stmt, equals)
        names = tuple(result.keys())
        return [dict(zip(names, row)) for row in result]

    def _candidates(self, wanted: dict[str, set[Any]]) -> Iterable[T]:
        """The held entities that may match, in the identity map's order (as a scan of it finds them): those
        with the wanted keys, or those the first indexed column's index files under the wanted values
        (re-checked by :meth:`_matching`: an entry may be stale), else every held entity."""
        seen = self._seen
        for column, values in wanted.items():
            if column == self._key:
                keys = values
                break
            index = self._index.get(column)
            if index is not None:
                keys = index.get(next(iter(values)), ()) if len(values) == 1 else \
                    set().union(*(index.get(v, ()) for v in values))
                break
        else:
            return seen.values()
        held = [k for k in keys if k in seen]
        if len(held) > 1:
            held.sort(key=self._order.__getitem__)
        return [seen[k] for k in held]

    def _reindex(self, key: str, entity: T) -> None:
        for column, index in self._index.items():
            index.setdefault(getattr(entity, column), set()).add(key)

    def prefetch(self, column: str, values: Iterable[Any], chunk: int = 900) -> None:
        """Load every row whose ``column`` is in ``values`` in a few queries; later reads stay in memory.

        Keys that were asked for and not found are remembered as absent, so a batch of new people
        costs one query rather than one per event.
        """
        todo = set(values) - self._covered.get(column, set())
        if column == self._key:  # already in the identity map (say, loaded by crn): nothing to fetch
            self._covered.setdefault(column, set()).update(todo & self._seen.keys())
            todo -= self._seen.keys()
        todo = sorted(todo)
        loaded = []
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            loaded += self._unheld(self._select({column: part}))
        self._remember(loaded)
        if column == self._key:
            self._absent |= {v for v in todo if v not in self._seen}
        self._covered.setdefault(column, set()).update(todo)

    # writes -----------------------------------------------------------------------------------
    def _held(self, key: str, entity: T) -> None:
        """Indexed, and no longer known absent."""
        self._absent.discard(key)
        self._reindex(key, entity)

    def flush(self) -> None:
        if self._removed:
            self._session.execute(delete(self._row_cls).where(
                getattr(self._row_cls, self._key).in_(list(self._removed))))
            self._removed.clear()
        upsert(self._session, self._row_cls, [row for _, row in self._changed()], [self._key])
        self.after_flush()
