"""The SQL unit of work's rows for the ops workflow: alerts and their actions, planner overrides, limited-access
cases and the audit of reads (a mixin of :class:`engine.persistence.uow.SqlUnitOfWork`, kept apart so the unit
of work's transaction, identity map and ingest paths read on their own)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Iterable

from sqlalchemy import String, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from engine.domain.access import LimitedAccess
from engine.persistence import tables as t
from engine.persistence.access_rows import access_of, access_row, names
from engine.persistence.repository import upsert


class OpsRows:
    """Needs ``_session``, ``_queue`` (a row written in the unit of work's batched flush) and ``_flush_pending``."""

    _session: Session

    def _queue(self, row_cls: type, **row) -> None:  # pragma: no cover - the unit of work's
        raise NotImplementedError

    def _flush_pending(self) -> None:  # pragma: no cover - the unit of work's
        raise NotImplementedError

    def active_alerts(self, region_code: str, kinds: Iterable[str] | None = None) -> dict[str, dict]:
        self._flush_pending()
        stmt = select(t.ActiveAlertRow).where(t.ActiveAlertRow.region_code == region_code)
        if kinds is not None:
            stmt = stmt.where(t.ActiveAlertRow.kind.in_(list(kinds)))
        rows = self._session.execute(stmt).scalars()
        return {r.alert_id: {c.name: getattr(r, c.name) for c in t.ActiveAlertRow.__table__.columns}
                for r in rows}

    def raise_alert(self, alert: dict) -> None:
        upsert(self._session, t.ActiveAlertRow, [alert], ["alert_id"])

    def clear_alert(self, alert_id: str) -> None:
        self._session.execute(delete(t.ActiveAlertRow).where(t.ActiveAlertRow.alert_id == alert_id))

    def set_alert_workflow(self, alert_id: str, workflow_state: str, assigned_to: str | None,
                           snoozed_until: date | None) -> None:
        self._session.execute(update(t.ActiveAlertRow).where(t.ActiveAlertRow.alert_id == alert_id).values(
            workflow_state=workflow_state, assigned_to=assigned_to, snoozed_until=snoozed_until))

    def record_alert_action(self, action: dict) -> None:
        self._queue(t.AlertActionRow, **action)

    def alert_actions(self, alert_id: str) -> list[dict]:
        self._flush_pending()
        a = t.AlertActionRow
        rows = self._session.execute(select(a).where(a.alert_id == alert_id).order_by(a.id)).scalars()
        return [{c.name: getattr(r, c.name) for c in a.__table__.columns} for r in rows]

    def add_override(self, row: dict) -> None:
        self._queue(t.PlannerOverrideRow, **row)

    def remove_override(self, override_id: str, removed_by: str, removed_at: datetime) -> None:
        self._flush_pending()
        o = t.PlannerOverrideRow
        self._session.execute(update(o).where(o.override_id == override_id).values(
            removed_by=removed_by, removed_at=removed_at))

    def overrides(self, region_code: str | None = None, removed: bool = False) -> list[dict]:
        self._flush_pending()
        o = t.PlannerOverrideRow
        stmt = select(o).order_by(o.override_id)
        if region_code is not None:
            stmt = stmt.where(o.region_code == region_code)
        if not removed:
            stmt = stmt.where(o.removed_at.is_(None))
        return [{c.name: getattr(r, c.name) for c in o.__table__.columns}
                for r in self._session.execute(stmt).scalars()]

    # limited-access cases and the audit of reads ---------------------------------------------------
    def set_access(self, rule: LimitedAccess, updated_at: datetime, event_id: str) -> None:
        upsert(self._session, t.PersonAccessRow, [access_row(rule, updated_at, event_id)], ["crn"])

    def access_rules(self, crns: Iterable[str] | None = None) -> dict[str, tuple[LimitedAccess, datetime | None]]:
        stmt = select(t.PersonAccessRow)
        if crns is not None:
            stmt = stmt.where(t.PersonAccessRow.crn.in_(sorted(set(crns))))
        return {r.crn: access_of(r.__dict__) for r in self._session.execute(stmt).scalars()}

    def record_read(self, read: dict) -> None:
        self._queue(t.AuditReadRow, **read)

    def reads_of(self, crn: str, referral_ids: Iterable[str] = ()) -> list[dict]:
        self._flush_pending()
        a = t.AuditReadRow
        wanted = [cast(a.crns, String).contains(f'"{crn}"', autoescape=True)]
        wanted += [cast(a.referral_ids, String).contains(f'"{r}"', autoescape=True)
                   for r in sorted(set(referral_ids))]
        rows = self._session.execute(select(a).where(or_(*wanted)).order_by(a.id)).scalars()
        found = [{c.name: getattr(r, c.name) for c in a.__table__.columns} for r in rows]
        return [r for r in found if names(r, crn, referral_ids)]  # LIKE found the text; the lists decide
