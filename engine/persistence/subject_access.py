"""Subject access: everything the engine holds on one crn, as one JSON-friendly document.

The person (and the crns merged into them), their limited-access rule, sentences, requirements, referrals
with their status history and attendance, current places, the inbound events that name the crn or one of
its referrals (processed, parked, dead letters: by the stored text, so events processed before migration
0003, which kept no text, are not found), the outbound messages about them (allocations, alerts, and what
people did to the alerts), their open alerts with their workflow history, planner overrides (when the
``planner_overrides`` table exists), and every audited read that showed them. Rare and ADMIN-only: the text
searches scan their tables.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.domain.policies import deadline
from engine.persistence import tables as t
from engine.persistence.database import Database
from engine.persistence.rows import plain


def subject_access(db: Database, crn: str) -> dict[str, Any]:
    session: Session = db._sessions()
    try:
        return SubjectAccess(session, db, crn).document()
    finally:
        session.close()


class SubjectAccess:
    def __init__(self, session: Session, db: Database, crn: str) -> None:
        self.s, self.db, self.crn = session, db, crn
        merged = self.s.execute(select(t.PersonRow.crn).where(t.PersonRow.merged_into == crn)).scalars()
        self.crns = sorted({crn, *merged})
        self.referral_ids = sorted(self.s.execute(select(t.ReferralRow.referral_id).where(
            t.ReferralRow.crn.in_(self.crns))).scalars())

    def document(self) -> dict[str, Any]:
        return {"crn": self.crn, "merged_crns": [c for c in self.crns if c != self.crn],
                "person": self._one(t.PersonRow, self.crn),
                "limited_access": self._one(t.PersonAccessRow, self.crn),
                "sentences": self._where(t.SentenceRow, t.SentenceRow.crn.in_(self.crns)),
                "requirements": self._where(t.RequirementRow, t.RequirementRow.crn.in_(self.crns)),
                "referrals": self._referrals(),
                "allocations": self._where(t.AllocationRow, t.AllocationRow.referral_id.in_(self.referral_ids)),
                "events": self._events(), "outbound": self._outbound(), "alerts": self._alerts(),
                "overrides": self._overrides(), "reads": self._reads()}

    def _reads(self) -> list[dict[str, Any]]:
        """Every audited read that showed one of the crns or referral ids (the unit of work's own search)."""
        with self.db.uow() as uow:
            found = {r["id"]: r for crn in self.crns for r in uow.reads_of(crn, self.referral_ids)}
        return [{k: plain(v) for k, v in found[i].items()} for i in sorted(found)]

    # the case ---------------------------------------------------------------------------------------
    def _referrals(self) -> list[dict[str, Any]]:
        out = []
        for referral in self._where(t.ReferralRow, t.ReferralRow.referral_id.in_(self.referral_ids)):
            rid = referral["referral_id"]
            requirement = self.s.get(t.RequirementRow, referral["requirement_id"])
            sentence = requirement and self.s.get(t.SentenceRow, requirement.sentence_id)
            referral["deadline"] = plain(deadline(requirement.end_date, sentence.expected_end_date)) \
                if sentence else None
            referral["history"] = self._where(t.ReferralHistoryRow, t.ReferralHistoryRow.referral_id == rid,
                                              t.ReferralHistoryRow.seq)
            referral["attendance"] = self._where(t.AttendanceRow, t.AttendanceRow.referral_id == rid,
                                                 t.AttendanceRow.session_number)
            out.append(referral)
        return out

    # what arrived and what was sent -----------------------------------------------------------------
    def _events(self) -> dict[str, list[dict[str, Any]]]:
        return {"processed": self._with_message(t.ProcessedEventRow, t.ProcessedEventRow.raw, "raw"),
                "parked": self._with_message(t.ParkedEventRow, t.ParkedEventRow.raw, "raw"),
                "dead_letters": self._with_message(t.DeadLetterRow, t.DeadLetterRow.raw, "raw")}

    def _outbound(self) -> list[dict[str, Any]]:
        return self._with_message(t.OutboxRow, t.OutboxRow.message, "message", also=t.OutboxRow.key.in_(self.crns))

    def _with_message(self, row_cls: type, text_column, name: str, also=None) -> list[dict[str, Any]]:
        """Rows whose stored JSON text names one of the crns or referral ids (as a JSON string), oldest first;
        the text as the JSON it holds."""
        wanted = [text_column.contains(f'"{value}"', autoescape=True) for value in (*self.crns, *self.referral_ids)]
        if also is not None:
            wanted.append(also)
        order = row_cls.id if hasattr(row_cls, "id") else row_cls.occurred_at
        rows = self._where(row_cls, or_(*wanted), order)
        for row in rows:
            row[name] = _json(row[name])
        return rows

    # alerts, overrides, reads -----------------------------------------------------------------------
    def _alerts(self) -> dict[str, list[dict[str, Any]]]:
        a, actions = t.ActiveAlertRow, t.AlertActionRow
        subjects = [a.message_key.in_(self.crns)] + [a.subject_id.endswith(r, autoescape=True)
                                                     for r in self.referral_ids]
        open_ = [r for r in self._where(a, or_(*subjects), a.alert_id)
                 if self._about(r["subject_id"], r["message_key"])]
        ends = [actions.alert_id.endswith(f"{sep}{value}", autoescape=True)
                for value in (*self.crns, *self.referral_ids)
                for sep in (":", "/")]  # kind:referral:R1, kind:referral:C1/R1 (a cohort member)
        acted = self._where(actions, or_(*ends), actions.id)
        return {"open": open_, "actions": acted}

    def _about(self, subject_id: str, key: str | None) -> bool:
        return key in self.crns or subject_id.rpartition("/")[2] in self.referral_ids

    def _overrides(self) -> list[dict[str, Any]] | None:
        """Planner overrides (kept or removed) naming one of the referrals, if the table of migration 0006 is
        there (read by name: the overrides work owns it)."""
        table = t.Base.metadata.tables.get("planner_overrides")
        if table is None:
            return None
        wanted = [table.c[name].in_(values) for name, values in (("crn", self.crns),
                                                                  ("referral_id", self.referral_ids))
                  if name in table.c]
        if not wanted:
            return None
        rows = self.s.execute(select(table).where(or_(*wanted))).mappings()
        return [{k: plain(v) for k, v in r.items()} for r in rows]

    # plain rows -------------------------------------------------------------------------------------
    def _one(self, row_cls: type, key: str) -> dict[str, Any] | None:
        found = self.s.get(row_cls, key)
        return _plain(found) if found is not None else None

    def _where(self, row_cls: type, condition, order=None) -> list[dict[str, Any]]:
        stmt = select(row_cls).where(condition)
        if order is not None:
            stmt = stmt.order_by(order)
        return [_plain(r) for r in self.s.execute(stmt).scalars()]


def _plain(obj) -> dict[str, Any]:
    return {c.name: plain(getattr(obj, c.name)) for c in obj.__table__.columns}


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # a dead letter's text need not be JSON
