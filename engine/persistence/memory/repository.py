"""Repositories over the in-memory tables: an identity map and snapshots per unit of work, as
:class:`engine.persistence.repository.SqlRepository` keeps them (one object per key within a unit of work,
changes to loaded entities saved on flush without calling ``add`` again)."""
from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from engine.domain.model import Referral, StatusChange
from engine.domain.statuses import ReferralStatus
from engine.persistence import mappers as m
from engine.persistence.memory.schema import KEYS, as_stored, fresh
from engine.ports import Repository

if TYPE_CHECKING:
    from engine.persistence.memory.store import MemoryUnitOfWork

T = TypeVar("T")


class MemoryRepository(Repository[T], Generic[T]):
    """Identity map and snapshots over one table, as :class:`engine.persistence.repository.SqlRepository`."""

    def __init__(self, uow: "MemoryUnitOfWork", table: str, to_row: Callable[[T], dict[str, Any]],
                 from_row: Callable[[dict[str, Any]], T]) -> None:
        self._uow, self._table, self._key = uow, table, KEYS[table]
        self._to_row, self._from_row = to_row, from_row
        self._seen: dict[str, T] = {}
        self._snapshots: dict[str, dict[str, Any] | None] = {}
        self._removed: set[str] = set()

    # reads ------------------------------------------------------------------------------------
    def get(self, key: str) -> T | None:
        if key in self._seen:
            return self._seen[key]
        if key in self._removed:
            return None
        row = self._uow.row(self._table, key)
        return self._track([row])[0] if row is not None else None

    def where(self, **equals: Any) -> list[T]:
        """Stored matches merged with this unit of work's own changes (an entity loaded or added here is
        judged by its values now, so a change made earlier in the unit of work is seen)."""
        wanted = {c: (set(v) if isinstance(v, (list, tuple, set, frozenset)) else {v}) for c, v in equals.items()}
        if any(not values for values in wanted.values()):
            return []
        if self._key in wanted:
            rows = [r for k in wanted[self._key] if (r := self._uow.row(self._table, k)) is not None]
        else:
            rows = self._uow.rows(self._table)
        self._track([r for r in rows if r[self._key] not in self._seen and r[self._key] not in self._removed
                     and all(r[column] in values for column, values in wanted.items())])
        matches = list(self._seen.values())
        for column, values in wanted.items():
            get = attrgetter(column)
            matches = [e for e in matches if get(e) in values]
        return matches

    def loaded(self) -> list[T]:
        """Entities this unit of work holds (changed ones included, removed ones not)."""
        return list(self._seen.values())

    def _track(self, rows: list[dict[str, Any]]) -> list[T]:
        entities = []
        for row in rows:
            entity = self._from_row(fresh(row))
            key = row[self._key]
            self._seen[key] = entity
            self._snapshots[key] = self._to_row(entity)
            entities.append(entity)
        if entities:
            self.after_load(entities)
        return entities

    def after_load(self, entities: list[T]) -> None:
        """Hook for aggregates with child rows."""

    # writes -----------------------------------------------------------------------------------
    def add(self, entity: T) -> T:
        key = getattr(entity, self._key)
        self._removed.discard(key)
        self._seen[key] = entity
        self._snapshots.setdefault(key, None)
        return entity

    def remove(self, key: str) -> None:
        self._seen.pop(key, None)
        self._snapshots.pop(key, None)
        self._removed.add(key)

    def flush(self) -> None:
        for key in self._removed:
            self._uow.delete(self._table, key)
        self._removed.clear()
        for key, entity in self._seen.items():
            row = self._to_row(entity)
            if row != self._snapshots.get(key):
                self._uow.put(self._table, key, as_stored(self._table, row))
                self._snapshots[key] = row
        self.after_flush()

    def after_flush(self) -> None:
        """Hook for aggregates with child rows."""


class MemoryReferralRepository(MemoryRepository[Referral]):
    """Referrals with their append-only status history."""

    def __init__(self, uow: "MemoryUnitOfWork") -> None:
        super().__init__(uow, "referrals", m.referral_to_row, m.referral_from_row)
        self._history_len: dict[str, int] = {}

    def after_load(self, entities: list[Referral]) -> None:
        for referral in entities:
            for row in self._uow.history(referral.referral_id):
                referral.history.append(StatusChange(
                    row["at"], ReferralStatus(row["from_status"]) if row["from_status"] else None,
                    ReferralStatus(row["to_status"]), row["reason"], row["event_id"]))
            self._history_len[referral.referral_id] = len(referral.history)

    def after_flush(self) -> None:
        for referral in self._seen.values():
            start = self._history_len.get(referral.referral_id, 0)
            for seq, change in enumerate(referral.history[start:], start=start):
                self._uow.append_history(dict(
                    referral_id=referral.referral_id, seq=seq, at=change.at,
                    from_status=change.from_status and str(change.from_status), to_status=str(change.to_status),
                    reason=change.reason, event_id=change.event_id))
            self._history_len[referral.referral_id] = len(referral.history)
