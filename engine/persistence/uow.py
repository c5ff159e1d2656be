"""SQL unit of work: one transaction, one identity map, every write flushed in batches on commit."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Callable, Iterable

from sqlalchemy import String, bindparam, cast, delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from engine import state_keys
from engine.domain.model import Office, PlanRecord, Referral, StatusChange
from engine.domain.statuses import ReferralStatus
from engine.persistence import mappers as m
from engine.persistence import tables as t
from engine.persistence.joins import region_referrals
from engine.persistence.repository import SqlRepository, insert_ignore, insert_many, upsert
from engine.persistence.rows import PARKED, add_deadline, dead_letter_text, labelled_origin
from engine.persistence.ops_rows import OpsRows
from engine.ports import EXPIRED, EXPIRED_REASON, Attendance, DeadLetter, ParkedEvent, SeenCopy, UnitOfWork


class ReferralRepository(SqlRepository[Referral]):
    """Referrals with their append-only status history (a child table only ever inserted into)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session, t.ReferralRow, "referral_id", m.referral_to_row, m.referral_from_row,
                         indexed=("crn",))
        self._history_len: dict[str, int] = {}

    def after_load(self, entities: list[Referral]) -> None:
        ids = [r.referral_id for r in entities]
        h = t.ReferralHistoryRow
        rows = self._session.connection().execute(select(
            h.referral_id, h.at, h.from_status, h.to_status, h.reason, h.event_id).where(
            h.referral_id.in_(ids)).order_by(h.seq))
        by_id = {r.referral_id: r for r in entities}
        for row in rows:
            by_id[row.referral_id].history.append(StatusChange(
                row.at, ReferralStatus(row.from_status) if row.from_status else None,
                ReferralStatus(row.to_status), row.reason, row.event_id))
        for referral in entities:
            self._history_len[referral.referral_id] = len(referral.history)

    def after_flush(self) -> None:
        rows = []
        for referral in self.loaded():
            start = self._history_len.get(referral.referral_id, 0)
            for seq, change in enumerate(referral.history[start:], start=start):
                rows.append(dict(referral_id=referral.referral_id, seq=seq, at=change.at,
                                 from_status=change.from_status and str(change.from_status),
                                 to_status=str(change.to_status), reason=change.reason,
                                 event_id=change.event_id))
            self._history_len[referral.referral_id] = len(referral.history)
        insert_many(self._session, t.ReferralHistoryRow, rows)


class SqlUnitOfWork(OpsRows, UnitOfWork):
    def __init__(self, session_factory: sessionmaker) -> None:
        self._session: Session = session_factory()
        s = self._session
        # merged_into: a person's record looks up the cases merged into it (case.merged re-adds the source).
        self.people = SqlRepository(s, t.PersonRow, "crn", m.person_to_row, m.person_from_row,
                                    indexed=("merged_into",))
        self.sentences = SqlRepository(s, t.SentenceRow, "sentence_id", m.sentence_to_row, m.sentence_from_row,
                                       indexed=("crn",))
        self.requirements = SqlRepository(s, t.RequirementRow, "requirement_id", m.requirement_to_row,
                                          m.requirement_from_row, indexed=("crn",))
        self.referrals = ReferralRepository(s)
        self.cohorts = SqlRepository(s, t.CohortRow, "cohort_id", m.cohort_to_row, m.cohort_from_row)
        self.facilitators = SqlRepository(s, t.FacilitatorRow, "facilitator_id", m.facilitator_to_row,
                                          m.facilitator_from_row)
        self.allocations = SqlRepository(s, t.AllocationRow, "referral_id", m.allocation_to_row,
                                         m.allocation_from_row)
        self._repos = (self.people, self.sentences, self.requirements, self.referrals, self.cohorts,
                       self.facilitators, self.allocations)
        self._pending: dict[type, list[dict]] = {}
        # Engine state set here and not written yet: the last value wins (a callable: made when written or read).
        self._state_writes: dict[str, str | Callable[[], str]] = {}
        self._state_reads: dict[str, str | None] = {}  # engine state prefetched for this unit of work
        self._attendance_keys: set[tuple] = set()
        self._attendance_covered: set[str] = set()
        self._parked_keys: set[str] | None = None

    # transaction ------------------------------------------------------------------------------
    def flush(self) -> None:
        for repo in self._repos:
            repo.flush()
        self._flush_pending()

    def _flush_pending(self) -> None:
        for row_cls, rows in self._pending.items():
            insert_many(self._session, row_cls, rows)
        self._pending.clear()
        if self._state_writes:
            upsert(self._session, t.EngineStateRow, [dict(name=name, value=self._state_value(name))
                                                     for name in sorted(self._state_writes)], ["name"])
            self._state_reads.update(self._state_writes)  # what this transaction reads back from now on
            self._state_writes.clear()

    def commit(self) -> None:
        self.flush()
        self._session.commit()
        self._state_reads.clear()  # a new transaction reads afresh

    def rollback(self) -> None:
        self._session.rollback()
        self._state_writes.clear()
        self._state_reads.clear()

    def close(self) -> None:
        self._session.close()

    def __exit__(self, *exc) -> None:
        self.rollback()
        self.close()

    def _queue(self, row_cls: type, **row) -> None:
        self._pending.setdefault(row_cls, []).append(row)

    # idempotency and parking --------------------------------------------------------------------
    def seen_copies(self, event_ids: Iterable[str]) -> dict[str, SeenCopy]:
        ids = sorted(set(event_ids))
        out: dict[str, SeenCopy] = {}
        connection = self._session.connection()  # Core, statements built once (as SqlRepository reads)
        for start in range(0, len(ids), 900):
            part = {"ids": ids[start:start + 900]}
            for event_id, digest, raw, seen_at, waiting_for in connection.execute(_PARKED_COPIES, part):
                out[event_id] = SeenCopy(event_id, PARKED, digest, raw, seen_at, waiting_for)
            for event_id, outcome, digest, raw, seen_at in connection.execute(_PROCESSED_COPIES, part):
                out[event_id] = SeenCopy(event_id, outcome, digest, raw, seen_at)
        wanted = set(ids)
        for r in self._pending.get(t.ProcessedEventRow, []):
            if r["event_id"] in wanted:
                out[r["event_id"]] = SeenCopy(r["event_id"], r["outcome"], r["digest"], r["raw"], r["seen_at"])
        return out

    def mark_processed(self, event_id: str, event_type: str, occurred_at: datetime, outcome: str,
                       digest: str | None = None, raw: str | None = None,
                       seen_at: datetime | None = None) -> None:
        self._queue(t.ProcessedEventRow, event_id=event_id, event_type=event_type, occurred_at=occurred_at,
                    outcome=outcome, digest=digest, raw=raw, seen_at=seen_at)

    def prefetch(self, keys: dict[str, set[str]]) -> None:
        """Load what a batch of events will touch in a handful of queries (see SqlRepository.prefetch)."""
        crns = keys.get("crn", set())
        self.people.prefetch("crn", crns)
        self.people.prefetch("merged_into", crns)  # a person's record looks for the cases merged into it
        self.sentences.prefetch("crn", crns)
        self.sentences.prefetch("sentence_id", keys.get("sentence_id", set()))
        self.requirements.prefetch("crn", crns)
        self.requirements.prefetch("requirement_id", keys.get("requirement_id", set()))
        self.referrals.prefetch("crn", crns)
        self.referrals.prefetch("referral_id", keys.get("referral_id", set()))
        self.allocations.prefetch("referral_id", keys.get("referral_id", set()))
        # A cohort's members are read whenever its definition or membership changes (the delivery team's
        # claims, the safety re-check): the batch's cohorts and those of the referrals it holds.
        cohort_ids = keys.get("cohort_id", set()) | {r.cohort_id for r in self.referrals.loaded() if r.cohort_id}
        self.referrals.prefetch("cohort_id", cohort_ids)
        self.cohorts.prefetch("cohort_id", cohort_ids)
        self.facilitators.prefetch("facilitator_id", keys.get("facilitator_id", set()))
        referral_ids = sorted(keys.get("referral_id", set()) - self._attendance_covered)
        for start in range(0, len(referral_ids), 900):
            rows = self._session.execute(select(
                t.AttendanceRow.referral_id, t.AttendanceRow.cohort_id, t.AttendanceRow.session_number).where(
                t.AttendanceRow.referral_id.in_(referral_ids[start:start + 900])))
            self._attendance_keys |= {tuple(r) for r in rows}
        self._attendance_covered |= set(referral_ids)
        # The status logs (engine/handlers/status_log.py) of the referrals and sentences now held.
        self.read_states([state_keys.STATUS_LOG.key(r.referral_id) for r in self.referrals.loaded()]
                         + [state_keys.SENTENCE_LOG.key(s.sentence_id) for s in self.sentences.loaded()])

    def read_states(self, names: Iterable[str]) -> None:
        """Read these engine state values in a few queries: :meth:`get_state` answers them (absent ones too)
        from memory for the rest of the unit of work. Only names asked for here are kept (a fencing token
        read twice is read twice); the batch holds the write lock, so no other writer changes them meanwhile."""
        todo = sorted(set(names) - self._state_reads.keys() - self._state_writes.keys())
        self._state_reads.update(dict.fromkeys(todo))
        for start in range(0, len(todo), 900):
            self._state_reads.update(
                (name, value) for name, value in self._session.connection().execute(
                    _STATE_VALUES, {"names": todo[start:start + 900]}))

    def _parked(self) -> set[str]:
        if self._parked_keys is None:
            self._read_parked()
        return self._parked_keys

    def _read_parked(self) -> datetime | None:
        """What the parked events wait for (kept for park and unpark: a superset once some are taken) and the
        earliest wait, in one grouped query: a batch's start asks for both."""
        k = t.ParkedEventRow
        rows = self._session.execute(select(k.waiting_for, func.min(k.parked_at)).group_by(k.waiting_for)).all()
        self._parked_keys = {waiting_for for waiting_for, _ in rows}
        return min((at for _, at in rows if at is not None), default=None)

    def park(self, event: ParkedEvent) -> None:
        self._parked().add(event.waiting_for)
        insert_ignore(self._session, t.ParkedEventRow, [m.parked_to_row(event)], ["event_id"])

    def unpark(self, waiting_for: str) -> list[ParkedEvent]:
        if waiting_for not in self._parked():
            return []
        k = t.ParkedEventRow
        return self._take(select(*k.__table__.columns).where(k.waiting_for == waiting_for).order_by(
            k.occurred_at, k.event_id))

    def expire_parked(self, parked_before: datetime, clock: datetime) -> list[ParkedEvent]:
        # A dormant row's parked_at is NULL (it waits no more), so neither this nor earliest_parked reads the
        # dormant ones, which collect at the low end of the parked_at index, and both stay index lookups.
        k = t.ParkedEventRow
        rows = [dict(r) for r in self._session.execute(select(*k.__table__.columns).where(
            k.parked_at < parked_before).order_by(k.parked_at, k.occurred_at, k.event_id)).mappings()]
        if rows:
            self._session.execute(update(k).where(k.event_id.in_([r["event_id"] for r in rows])).values(
                expired_at=clock, parked_at=None))
        return [m.parked_from_row({**r, "expired_at": clock}) for r in rows]  # with the wait it had

    def earliest_parked(self) -> datetime | None:
        if self._parked_keys is None:
            return self._read_parked()
        return self._session.execute(select(func.min(t.ParkedEventRow.parked_at))).scalar()

    def readmit(self, event_id: str) -> None:
        for row_cls in (t.ProcessedEventRow, t.DeadLetterRow):  # written in this unit of work, not flushed yet
            if row_cls in self._pending:
                self._pending[row_cls] = [r for r in self._pending[row_cls] if not _expiry_of(row_cls, r, event_id)]
        p, d = t.ProcessedEventRow, t.DeadLetterRow
        self._session.execute(delete(p).where(p.event_id == event_id, p.outcome == EXPIRED))
        self._session.execute(delete(d).where(d.event_id == event_id, d.reason.startswith(EXPIRED_REASON)))

    def _take(self, stmt) -> list[ParkedEvent]:
        """Remove the parked events ``stmt`` selects and return them in its order."""
        rows = [dict(r) for r in self._session.execute(stmt).mappings()]
        if rows:
            self._session.execute(delete(t.ParkedEventRow).where(
                t.ParkedEventRow.event_id.in_([r["event_id"] for r in rows])))
        return [m.parked_from_row(r) for r in rows]

    # outbox, dead letters, attendance ---------------------------------------------------------
    def emit(self, message_id: str, topic: str, key: str, event_type: str, message: str,
             created_at: datetime) -> None:
        self._queue(t.OutboxRow, message_id=message_id, topic=topic, key=key, event_type=event_type,
                    message=message, created_at=created_at, sent_at=None)

    def dead_letter(self, letter: DeadLetter, received_at: datetime) -> None:
        self._queue(t.DeadLetterRow, received_at=received_at, origin=letter.origin,
                    line_number=letter.line_number, partition=letter.partition, offset=letter.offset,
                    event_id=letter.event_id, reason=dead_letter_text(letter.reason), raw=dead_letter_text(letter.raw))

    def record_attendance(self, record: Attendance) -> bool:
        key = (record.referral_id, record.cohort_id, record.session_number)
        if key in self._attendance_keys or record.referral_id not in self._attendance_covered and self._session.execute(select(t.AttendanceRow.id).where(
                t.AttendanceRow.referral_id == record.referral_id, t.AttendanceRow.cohort_id == record.cohort_id,
                t.AttendanceRow.session_number == record.session_number)).first():
            return False
        self._attendance_keys.add(key)
        self._queue(t.AttendanceRow, **record.__dict__)
        return True

    def attendance_of(self, referral_ids: Iterable[str], outcomes: Iterable[str] | None = None) -> list[Attendance]:
        self._flush_pending()
        ids, out = sorted(set(referral_ids)), []
        for start in range(0, len(ids), 500):
            stmt = select(t.AttendanceRow).where(t.AttendanceRow.referral_id.in_(ids[start:start + 500]))
            if outcomes is not None:
                stmt = stmt.where(t.AttendanceRow.outcome.in_(list(outcomes)))
            out += [Attendance(r.referral_id, r.cohort_id, r.session_number, r.session_date, r.outcome)
                    for r in self._session.execute(stmt).scalars()]
        return sorted(out, key=lambda a: (a.session_date, a.referral_id, a.session_number))

    def referral_facts(self, region_code: str, statuses: Iterable[str]) -> list[dict]:
        self.flush()
        r, h = t.ReferralRow, t.ReferralHistoryRow
        since = (select(func.max(h.at)).where(h.referral_id == r.referral_id, h.to_status == r.status)
                 .correlate(r).scalar_subquery())
        stmt = region_referrals(region_code, r.risk_band, r.cohort_id, t.AllocationRow.pinned,
                                since.label("status_since")).where(r.status.in_(list(statuses)))
        return [add_deadline(dict(row)) for row in self._session.execute(stmt).mappings()]

    def dead_letters_since(self, since: datetime) -> list[tuple[datetime, str]]:
        self._flush_pending()
        d = t.DeadLetterRow
        rows = self._session.execute(select(d.received_at, d.origin, func.substr(d.reason, 1, 40)).where(
            d.received_at >= since).order_by(d.id))
        return [(at, labelled_origin(origin, reason)) for at, origin, reason in rows]

    # planning -----------------------------------------------------------------------------------
    def offices(self, region_code: str) -> list[Office]:
        rows = self._session.execute(select(t.OfficeRow).where(
            t.OfficeRow.region_code == region_code).order_by(t.OfficeRow.office_code)).scalars()
        return [Office(r.office_code, r.pdu_code, rooms=r.rooms, rural=r.rural) for r in rows]

    def save_offices(self, region_code: str, offices: Iterable[Office]) -> None:
        rows = [dict(office_code=o.office_code, region_code=region_code, pdu_code=o.pdu_code,
                     rooms=o.rooms, rural=o.rural) for o in offices]
        upsert(self._session, t.OfficeRow, rows, ["office_code"])

    def next_plan_version(self) -> int:
        self._flush_pending()
        return (self._session.execute(select(func.max(t.PlanRow.plan_version))).scalar() or 0) + 1

    def save_plan(self, record: PlanRecord) -> None:
        self._queue(t.PlanRow, **record.__dict__)

    # cross-process coordination and the outbox relay ----------------------------------------------
    def lock_writes(self) -> None:
        if self._dialect == "postgresql":  # SQLite: one writer per file already
            self._session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("writes")})

    def try_lock(self, name: str) -> bool:
        if self._dialect != "postgresql":
            return True
        return bool(self._session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                          {"k": _lock_key(name)}).scalar())

    def unsent_outbox(self, limit: int) -> list[dict]:
        stmt = select(t.OutboxRow.id, t.OutboxRow.message_id, t.OutboxRow.topic, t.OutboxRow.key,
                      t.OutboxRow.event_type, t.OutboxRow.message).where(
            t.OutboxRow.sent_at.is_(None)).order_by(t.OutboxRow.id).limit(limit)
        return [dict(r) for r in self._session.execute(stmt).mappings()]

    def outbox_after(self, after_id: int, topics: Iterable[str], limit: int) -> list[dict]:
        stmt = select(t.OutboxRow.id, t.OutboxRow.message_id, t.OutboxRow.topic, t.OutboxRow.key,
                      t.OutboxRow.event_type, t.OutboxRow.message).where(
            t.OutboxRow.id > after_id, t.OutboxRow.topic.in_(list(topics))).order_by(t.OutboxRow.id).limit(limit)
        return [dict(r) for r in self._session.execute(stmt).mappings()]

    def mark_sent(self, ids: list[int], sent_at: datetime) -> None:
        if ids:
            self._session.execute(update(t.OutboxRow).where(t.OutboxRow.id.in_(ids)).values(sent_at=sent_at))

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    def people_naming(self, crn: str) -> list:
        """People whose non-associations name ``crn``: stored ones found by their JSON text, plus changes
        this unit of work has not written yet."""
        stored = self._session.execute(select(t.PersonRow.crn).where(
            cast(t.PersonRow.non_associations, String).like(f'%"{crn}"%'))).scalars()
        found = {p.crn: p for p in (self.people.get(c) for c in stored) if p is not None}
        found.update({p.crn: p for p in self.people.loaded()})
        return sorted((p for p in found.values() if crn in p.non_associations), key=lambda p: p.crn)

    def get_state(self, name: str) -> str | None:
        if name in self._state_writes:
            return self._state_value(name)
        if name in self._state_reads:
            return self._state_reads[name]
        return self._session.connection().execute(_STATE_VALUE, {"name": name}).scalar()

    def states(self, prefix: str) -> dict[str, str]:
        connection = self._session.connection()
        bounds = t.state_name_range(prefix, connection.dialect.name)
        if bounds is not None:  # one statement built once, from the names' index (engine.persistence.tables)
            rows = connection.execute(_STATES_IN_RANGE, bounds)
        else:
            rows = connection.execute(select(t.EngineStateRow.name, t.EngineStateRow.value).where(
                t.state_names_starting(prefix, connection.dialect.name)))
        out = {name: value for name, value in rows}
        out.update((name, self._state_value(name)) for name in self._state_writes if name.startswith(prefix))
        return out

    def set_state(self, name: str, value: str) -> None:
        """Kept until the next flush (a batch sets some names once per event): one upsert for them all."""
        self._state_writes[name] = value

    def set_state_later(self, name: str, value: Callable[[], str]) -> None:
        """Kept as the callable until the next flush or read of the name: made once however often it is set."""
        self._state_writes[name] = value

    def _state_value(self, name: str) -> str:
        """A value set and not written yet, made now if it was set later (and kept made)."""
        value = self._state_writes[name]
        if not isinstance(value, str):
            value = self._state_writes[name] = value()
        return value


# One engine state value by name: built once (handlers read one per referral they touch).
_STATE_VALUE = select(t.EngineStateRow.value).where(t.EngineStateRow.name == bindparam("name"))
_STATE_VALUES = select(t.EngineStateRow.name, t.EngineStateRow.value).where(
    t.EngineStateRow.name.in_(bindparam("names", expanding=True)))
# The names of a prefix on SQLite, from the names' index (:func:`engine.persistence.tables.state_names_starting`).
_STATES_IN_RANGE = select(t.EngineStateRow.name, t.EngineStateRow.value).where(t.STATE_NAMES_IN_RANGE)


def _expiry_of(row_cls: type, row: dict, event_id: str) -> bool:
    """Whether a pending row records the expiry of ``event_id`` (its EXPIRED outcome, or its dead letter)."""
    if row["event_id"] != event_id:
        return False
    if row_cls is t.ProcessedEventRow:
        return row["outcome"] == EXPIRED
    return row["reason"].startswith(EXPIRED_REASON)


# The recorded copies of a batch's event ids, parked and processed (seen_copies).
_PARKED_COPIES = select(t.ParkedEventRow.event_id, t.ParkedEventRow.digest, t.ParkedEventRow.raw,
                        t.ParkedEventRow.seen_at, t.ParkedEventRow.waiting_for).where(
    t.ParkedEventRow.event_id.in_(bindparam("ids", expanding=True)))
_PROCESSED_COPIES = select(t.ProcessedEventRow.event_id, t.ProcessedEventRow.outcome, t.ProcessedEventRow.digest,
                           t.ProcessedEventRow.raw, t.ProcessedEventRow.seen_at).where(
    t.ProcessedEventRow.event_id.in_(bindparam("ids", expanding=True)))


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a lock name."""
    return int.from_bytes(hashlib.blake2b(f"cohortplan:{name}".encode(), digest_size=8).digest(), "big",
                          signed=True)
