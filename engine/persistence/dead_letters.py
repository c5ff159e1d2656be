"""Dead letters for the redrive (engine/services/redrive.py): select them, and settle each after the intake has
seen it again — removed when applied, else kept (same id, same source position) with the new reason."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.persistence import tables as t
from engine.persistence.database import Database, make_engine
from engine.persistence.rows import dead_letter_text

D = t.DeadLetterRow


class DeadLetterStore:
    def __init__(self, database: Database) -> None:
        self._sessions: sessionmaker[Session] = sessionmaker(make_engine(database.url), expire_on_commit=False)

    def letters(self, ids: list[int] | None = None, origin: str | None = None, reason_contains: str | None = None,
                limit: int = 500) -> tuple[int, list[dict[str, Any]]]:
        """How many letters match, and the first ``limit`` of them (oldest first)."""
        where = []
        if ids is not None:
            where.append(D.id.in_(ids))
        if origin is not None:
            where.append(D.origin == origin)
        if reason_contains is not None:
            where.append(D.reason.contains(reason_contains, autoescape=True))
        with self._sessions() as s:
            total = s.execute(select(func.count()).select_from(D).where(*where)).scalar_one()
            rows = s.execute(select(D).where(*where).order_by(D.id).limit(limit)).scalars()
            return total, [{c.name: getattr(r, c.name) for c in D.__table__.columns} for r in rows]

    def last_id(self) -> int:
        with self._sessions() as s:
            return s.execute(select(func.max(D.id))).scalar() or 0

    def newer(self, raw: str, after_id: int) -> list[dict[str, Any]]:
        """Letters of this text written after ``after_id`` (what the intake dead-lettered it as again)."""
        with self._sessions() as s:
            rows = s.execute(select(D.id, D.reason).where(D.id > after_id, D.raw == dead_letter_text(raw))
                             .order_by(D.id)).mappings()
            return [dict(r) for r in rows]

    def settle(self, letter_id: int, reason: str | None, duplicates: list[int]) -> None:
        """One transaction: the letter removed (``reason`` None) or given ``reason``; ``duplicates`` removed."""
        with self._sessions.begin() as s:
            if reason is None:
                s.execute(delete(D).where(D.id == letter_id))
            else:
                s.execute(update(D).where(D.id == letter_id).values(reason=dead_letter_text(reason)))
            if duplicates:
                s.execute(delete(D).where(D.id.in_(duplicates)))

    def processed_outcome(self, event_id: str) -> str | None:
        with self._sessions() as s:
            return s.execute(select(t.ProcessedEventRow.outcome).where(
                t.ProcessedEventRow.event_id == event_id)).scalar()
