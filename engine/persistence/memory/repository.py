"""Repositories over the in-memory tables: an identity map and snapshots per unit of work, as
:class:`engine.persistence.repository.SqlRepository` keeps them (one object per key within a unit of work,
changes to loaded entities saved on flush without calling ``add`` again)."""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from engine.domain.model import Referral, StatusChange
from engine.domain.statuses import ReferralStatus
from engine.persistence import mappers as m
from engine.persistence.memory.schema import KEYS, as_stored, fresh
from engine.persistence.identity_map import IdentityMap

if TYPE_CHECKING:
    from engine.persistence.memory.store import MemoryUnitOfWork

T = TypeVar("T")


class MemoryRepository(IdentityMap[T], Generic[T]):
    """The identity map (:mod:`engine.persistence.identity_map`) over one in-memory table."""

    def __init__(self, uow: "MemoryUnitOfWork", table: str, to_row: Callable[[T], dict[str, Any]],
                 from_row: Callable[[dict[str, Any]], T]) -> None:
        super().__init__(KEYS[table], to_row, from_row)
        # a proxy, not the unit of work itself: it holds its repositories, and a cycle would outlive the batch
        # until a full collection, as the SQL store's does not (tests/contract/test_unit_of_work_lifetime.py)
        self._uow, self._table = weakref.proxy(uow), table

    # reads ------------------------------------------------------------------------------------
    def get(self, key: str) -> T | None:
        if key in self._seen:
            return self._seen[key]
        if key in self._removed:
            return None
        row = self._uow.row(self._table, key)
        return self._remember([fresh(row)])[0] if row is not None else None

    def where(self, **equals: Any) -> list[T]:
        """Stored matches merged with this unit of work's own changes (an entity loaded or added here is
        judged by its values now, so a change made earlier in the unit of work is seen)."""
        wanted = self._wanted(equals)
        if wanted is None:
            return []
        if self._key in wanted:
            rows = [r for k in wanted[self._key] if (r := self._uow.row(self._table, k)) is not None]
        else:
            rows = self._uow.rows(self._table)
        self._remember(fresh(r) for r in self._unheld(rows)
                       if all(r[column] in values for column, values in wanted.items()))
        return self._matching(self._seen.values(), wanted)

    # writes -----------------------------------------------------------------------------------
    def flush(self) -> None:
        for key in self._removed:
            self._uow.delete(self._table, key)
        self._removed.clear()
        for key, row in self._changed():
            self._uow.put(self._table, key, as_stored(self._table, row))
        self.after_flush()


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
