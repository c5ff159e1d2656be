"""In-memory unit of work: the persistence contract of :mod:`engine.persistence.uow` without a database.

Tests of handlers, rules, planning and alerts run on it; tests/contract runs the same persistence contract
suite on it as on SQLite and PostgreSQL. No SQLAlchemy here.

A :class:`MemoryStore` holds the committed tables as rows shaped like the SQL ones (same column names, the
values a SQL store returns: times in UTC, JSON columns as lists and dicts, enums as plain text).
``MemoryStore.uow()`` opens a unit of work over it:

- **Reads** see the latest committed rows overlaid with this unit of work's own changes (read committed,
  as on PostgreSQL); other units of work see none of those changes until commit.
- **Writes** go to the overlay: per table, key → new row (or deleted). Repositories keep an identity map
  and snapshots as the SQL ones do: one object per key within a unit of work, changes to loaded entities
  saved on commit without calling ``add`` again, a new unit of work gets new objects.
- **Commit** checks the constraints a SQL store enforces (primary keys of appended rows, unique intake,
  message id, attendance session, history sequence) and raises :class:`ConstraintViolation` with nothing
  written, or builds new tables from the latest committed ones plus the overlay (copy on write: committed
  tables are never changed in place, so readers iterate them safely) and swaps them in under a lock.
- **Rollback** drops the overlay. Row ids (outbox, dead letters, attendance, history) come from sequences
  that, as on PostgreSQL, do not go back on rollback: ids only ever increase.
- ``lock_writes`` is a no-op and ``try_lock`` is always granted (one process).

One module per job: :mod:`.schema` (the tables' columns, keys and constraints, and how a value is stored),
:mod:`.repository` (identity map and snapshots), :mod:`.store` (the store, the unit of work and its queries).
"""
from __future__ import annotations

from engine.persistence.memory.schema import COLUMNS, DATE_COLUMNS, FLOAT_COLUMNS, ConstraintViolation
from engine.persistence.memory.store import MemoryStore, MemoryUnitOfWork

__all__ = ["COLUMNS", "DATE_COLUMNS", "FLOAT_COLUMNS", "ConstraintViolation", "MemoryStore", "MemoryUnitOfWork"]
