"""The identity map both stores' repositories keep within a unit of work (no database library here).

One object per key: a second read of a key returns the entity already loaded, so a change made earlier in
the unit of work is seen. A snapshot of each entity's row as loaded (None for one added here) decides what
a flush writes: only rows that differ. ``where`` answers from the store, then re-checks every entity held
here by its values now (:meth:`IdentityMap._matching`). The SQL repository
(:class:`engine.persistence.repository.SqlRepository`) and the in-memory one
(:class:`engine.persistence.memory.repository.MemoryRepository`) differ only in how they read and write rows.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import fields
from itertools import compress, count
from operator import attrgetter
from typing import Any, Callable, Generic, TypeVar

from engine.ports import Repository

T = TypeVar("T")
_MUTABLE = (dict, list, set)
_MANY = (list, tuple, set, frozenset)


class IdentityMap(Repository[T], Generic[T]):
    def __init__(self, key: str, to_row: Callable[[T], dict[str, Any]],
                 from_row: Callable[[dict[str, Any]], T]) -> None:
        self._key, self._to_row, self._from_row = key, to_row, from_row
        self._seen: dict[str, T] = {}
        self._snapshots: dict[str, tuple | None] = {}
        self._removed: set[str] = set()
        # Position of each held key in ``_seen`` (whose order a scan follows): an index's answer is put in it.
        self._order: dict[str, int] = {}
        self._next = count().__next__
        self._fields: Callable[[T], tuple] | None = None  # the entity's stored fields, read in one call

    def loaded(self) -> list[T]:
        """Entities this unit of work holds (changed ones included, removed ones not)."""
        return list(self._seen.values())

    def add(self, entity: T) -> T:
        key = getattr(entity, self._key)
        self._removed.discard(key)
        if key not in self._seen:
            self._order[key] = self._next()
        self._seen[key] = entity
        self._snapshots.setdefault(key, None)
        self._held(key, entity)
        return entity

    def remove(self, key: str) -> None:
        self._seen.pop(key, None)
        self._order.pop(key, None)
        self._snapshots.pop(key, None)
        self._removed.add(key)

    def _remember(self, rows: Iterable[dict[str, Any]]) -> list[T]:
        """Entities for stored ``rows`` (none of them held yet), held with their snapshots; after_load runs once."""
        entities = []
        for row in rows:
            entity = self._from_row(row)
            key = row[self._key]
            if key not in self._seen:
                self._order[key] = self._next()
            self._seen[key] = entity
            self._snapshots[key] = self._state(entity)
            self._held(key, entity)
            entities.append(entity)
        if entities:
            self.after_load(entities)
        return entities

    def _unheld(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The stored rows this unit of work neither holds nor removed."""
        return [r for r in rows if r[self._key] not in self._seen and r[self._key] not in self._removed]

    def _state(self, entity: T) -> tuple:
        """The values of the entity's stored fields, with a copy of any held in a dict, list or set (a handler
        changes ``field_times`` in place): equal states, equal rows. Cheaper than the row, which sorts and
        formats, so a flush builds rows only for the entities that changed."""
        if self._fields is None:
            stored = self._to_row(entity)  # the row's columns are the entity's fields (a child list left out)
            names = [f.name for f in fields(entity) if f.name in stored]
            self._fields = attrgetter(*names) if len(names) > 1 else lambda e: (getattr(e, names[0]),)
        return tuple(v.copy() if type(v) in _MUTABLE else v for v in self._fields(entity))

    def _changed(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key, row) of every held entity that changed since its snapshot (or was added); the snapshot
        is moved on."""
        for key, entity in self._seen.items():
            state = self._state(entity)
            if state != self._snapshots.get(key):
                self._snapshots[key] = state
                yield key, self._to_row(entity)

    @staticmethod
    def _wanted(equals: dict[str, Any]) -> dict[str, set[Any]] | None:
        """``where``'s arguments as sets of values (a list, tuple or set means IN); None when one is an empty
        collection (nothing can match)."""
        wanted = {}
        for column, value in equals.items():
            values = set(value) if isinstance(value, _MANY) else {value}
            if not values:
                return None
            wanted[column] = values
        return wanted

    @staticmethod
    def _matching(entities: Iterable[T], wanted: dict[str, set[Any]]) -> list[T]:
        """The entities whose values now are among the wanted ones, column by column."""
        matches = entities if isinstance(entities, list) else list(entities)
        if len(matches) < 8:  # an index's answer: a comprehension costs less than setting up the C loop
            return [e for e in matches if all(getattr(e, c) in v for c, v in wanted.items())]
        for column, values in wanted.items():  # the loop runs in C: a column no index covers scans every entity
            matches = list(compress(matches, map(values.__contains__, map(attrgetter(column), matches))))
        return matches

    def _held(self, key: str, entity: T) -> None:
        """Hook: an entity is now held under ``key`` (loaded or added)."""

    def after_load(self, entities: list[T]) -> None:
        """Hook for aggregates with child rows."""

    def after_flush(self) -> None:
        """Hook for aggregates with child rows."""
