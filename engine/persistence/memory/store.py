"""The in-memory store and its unit of work: committed tables, the overlay of one unit of work, commit
and rollback (see the package docstring), and the port's queries over the rows."""
from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any, Callable, Iterable

from engine.domain.access import LimitedAccess
from engine.domain.model import Office, PlanRecord
from engine.persistence.access_rows import access_of, access_row, names
from engine.persistence import mappers as m
from engine.persistence.memory.repository import MemoryReferralRepository, MemoryRepository
from engine.persistence.memory.schema import (COLUMNS, KEYS, SEQUENCES, UNIQUE, ConstraintViolation, as_stored,
                                              check_unique, fresh, utc)
from engine.persistence.rows import (PARKED, STATE_TABLES, add_deadline, canonical_state, dead_letter_text,
                                     labelled_origin)
from engine.ports import EXPIRED, EXPIRED_REASON, Attendance, DeadLetter, ParkedEvent, SeenCopy, UnitOfWork


class MemoryStore:
    """Committed tables in memory; :meth:`uow` opens a unit of work over them."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, dict[Any, Any]] = {name: {} for name in COLUMNS}
        self._sequences = dict.fromkeys(SEQUENCES, 0)

    def uow(self) -> "MemoryUnitOfWork":
        return MemoryUnitOfWork(self)

    def dispose(self) -> None:
        """Nothing to release (the SQL store's ``Database.dispose`` closes its connection pool)."""

    def next_id(self, table: str) -> int:
        with self._lock:
            self._sequences[table] += 1
            return self._sequences[table]

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The committed rows of a table in primary key order, shaped like a SQL store's (for tests and checks)."""
        stored = self._tables[table]
        if table == "referral_history":
            return sorted((fresh(r) for rows in stored.values() for r in rows), key=lambda r: r["id"])
        return [fresh(stored[key]) for key in sorted(stored)]

    def canonical_state(self) -> dict[str, list[dict[str, Any]]]:
        """The same export as ``Queries.canonical_state`` on a SQL store (:func:`engine.persistence.rows.canonical_state`)."""
        return canonical_state({name: self.rows(name) for name in STATE_TABLES})


class MemoryUnitOfWork(UnitOfWork):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.people = MemoryRepository(self, "people", m.person_to_row, m.person_from_row)
        self.sentences = MemoryRepository(self, "sentences", m.sentence_to_row, m.sentence_from_row)
        self.requirements = MemoryRepository(self, "requirements", m.requirement_to_row, m.requirement_from_row)
        self.referrals = MemoryReferralRepository(self)
        self.cohorts = MemoryRepository(self, "cohorts", m.cohort_to_row, m.cohort_from_row)
        self.facilitators = MemoryRepository(self, "facilitators", m.facilitator_to_row, m.facilitator_from_row)
        self.allocations = MemoryRepository(self, "allocations", m.allocation_to_row, m.allocation_from_row)
        self._repos = (self.people, self.sentences, self.requirements, self.referrals, self.cohorts,
                       self.facilitators, self.allocations)
        self._changes: dict[str, dict[Any, dict[str, Any] | None]] = {}  # table → key → row (None: deleted)
        self._inserted: dict[str, list[Any]] = {}   # keys of plain INSERTs: a key already stored fails
        self._if_absent: dict[str, set[Any]] = {}   # keys of INSERT … ON CONFLICT DO NOTHING
        self._history: dict[str, list[dict[str, Any]]] = {}  # referral_id → history rows appended here

    # the overlay ------------------------------------------------------------------------------
    def row(self, table: str, key: Any) -> dict[str, Any] | None:
        changes = self._changes.get(table)
        if changes is not None and key in changes:
            return changes[key]
        return self._store._tables[table].get(key)

    def rows(self, table: str) -> list[dict[str, Any]]:
        committed = self._store._tables[table]
        changes = self._changes.get(table)
        if not changes:
            return list(committed.values())
        return [r for k, r in committed.items() if k not in changes] + [r for r in changes.values() if r is not None]

    def put(self, table: str, key: Any, row: dict[str, Any]) -> None:
        self._changes.setdefault(table, {})[key] = row

    def delete(self, table: str, key: Any) -> None:
        if self.row(table, key) is not None:
            self._changes.setdefault(table, {})[key] = None
            inserted = self._inserted.get(table, [])
            if key in inserted:  # inserted and deleted here: as if never inserted
                inserted.remove(key)

    def _insert(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        if KEYS[table] == "id":
            row = {**row, "id": self._store.next_id(table)}
        stored = as_stored(table, row)
        key = stored[KEYS[table]]
        changes = self._changes.get(table, {})
        if not (key in changes and changes[key] is None):  # deleted here, inserted again: SQL's DELETE, INSERT
            self._inserted.setdefault(table, []).append(key)
        self.put(table, key, stored)
        return stored

    def _upsert(self, table: str, row: dict[str, Any]) -> None:
        """INSERT … ON CONFLICT DO UPDATE of the given columns (the others keep their stored values)."""
        key = row[KEYS[table]]
        before = self.row(table, key)
        self.put(table, key, as_stored(table, {**before, **row} if before is not None else row))

    def history(self, referral_id: str) -> list[dict[str, Any]]:
        return [*self._store._tables["referral_history"].get(referral_id, ()), *self._history.get(referral_id, ())]

    def append_history(self, row: dict[str, Any]) -> None:
        row = as_stored("referral_history", {**row, "id": self._store.next_id("referral_history")})
        self._history.setdefault(row["referral_id"], []).append(row)

    # transaction ------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write loaded and added entities to this unit of work's overlay and check the constraints (a SQL
        store raises on flush too); other units of work still see nothing."""
        for repo in self._repos:
            repo.flush()
        self._merged(self._store._tables)

    def commit(self) -> None:
        for repo in self._repos:
            repo.flush()
        store = self._store
        with store._lock:
            store._tables = self._merged(store._tables)
        self._forget()

    def rollback(self) -> None:
        self._forget()

    def close(self) -> None:
        self._forget()

    def _forget(self) -> None:
        self._changes, self._inserted, self._if_absent, self._history = {}, {}, {}, {}

    def _merged(self, committed: dict[str, dict[Any, Any]]) -> dict[str, dict[Any, Any]]:
        """The committed tables with this unit of work's changes applied (new dicts for the changed tables;
        ``committed`` is left as it was), or ConstraintViolation."""
        tables = dict(committed)
        for table, changes in self._changes.items():
            before, after = committed[table], dict(committed[table])
            inserted: set[Any] = set()
            for key in self._inserted.get(table, ()):
                if key in before or key in inserted:
                    raise ConstraintViolation(f"{table}: duplicate {KEYS[table]} {key!r}")
                inserted.add(key)
            keep = self._if_absent.get(table, set())
            for key, row in changes.items():
                if row is None:
                    after.pop(key, None)
                elif not (key in keep and key in before):
                    after[key] = row
            if table in UNIQUE:
                check_unique(table, after)
            tables[table] = after
        if self._history:
            stored = committed["referral_history"]
            history = dict(stored)
            for referral_id, rows in self._history.items():
                seqs = [r["seq"] for r in stored.get(referral_id, ())] + [r["seq"] for r in rows]
                if len(seqs) != len(set(seqs)):
                    raise ConstraintViolation(f"referral_history: duplicate (referral_id, seq) for {referral_id}")
                history[referral_id] = (*stored.get(referral_id, ()), *rows)
            tables["referral_history"] = history
        return tables

    # idempotency and parking --------------------------------------------------------------------
    def seen_copies(self, event_ids: Iterable[str]) -> dict[str, SeenCopy]:
        out: dict[str, SeenCopy] = {}
        for event_id in sorted(set(event_ids)):
            if (p := self.row("processed_events", event_id)) is not None:
                out[event_id] = SeenCopy(event_id, p["outcome"], p["digest"], p["raw"], p["seen_at"])
            elif (k := self.row("parked_events", event_id)) is not None:
                out[event_id] = SeenCopy(event_id, PARKED, k["digest"], k["raw"], k["seen_at"], k["waiting_for"])
        return out

    def mark_processed(self, event_id: str, event_type: str, occurred_at: datetime, outcome: str,
                       digest: str | None = None, raw: str | None = None,
                       seen_at: datetime | None = None) -> None:
        self._insert("processed_events", dict(event_id=event_id, event_type=event_type, occurred_at=occurred_at,
                                              outcome=outcome, digest=digest, raw=raw, seen_at=seen_at))

    def park(self, event: ParkedEvent) -> None:
        if self.row("parked_events", event.event_id) is not None:
            return  # parked already: the first copy stays
        if event.event_id not in self._changes.get("parked_events", {}):  # not one this unit of work took out
            self._if_absent.setdefault("parked_events", set()).add(event.event_id)
        self.put("parked_events", event.event_id, as_stored("parked_events", m.parked_to_row(event)))

    def unpark(self, waiting_for: str) -> list[ParkedEvent]:
        return self._take([r for r in self.rows("parked_events") if r["waiting_for"] == waiting_for],
                          key=lambda r: (r["occurred_at"], r["event_id"]))

    def expire_parked(self, parked_before: datetime, clock: datetime) -> list[ParkedEvent]:
        before = utc(parked_before)
        rows = sorted((r for r in self.rows("parked_events") if r["parked_at"] is not None and r["parked_at"] < before),
                      key=lambda r: (r["parked_at"], r["occurred_at"], r["event_id"]))
        for row in rows:  # dormant: parked_at NULL, as the SQL store keeps it
            self._upsert("parked_events", {"event_id": row["event_id"], "expired_at": clock, "parked_at": None})
        return [m.parked_from_row({**row, "expired_at": clock}) for row in rows]

    def earliest_parked(self) -> datetime | None:
        return min((r["parked_at"] for r in self.rows("parked_events") if r["parked_at"] is not None), default=None)

    def readmit(self, event_id: str) -> None:
        processed = self.row("processed_events", event_id)
        if processed is not None and processed["outcome"] == EXPIRED:
            self.delete("processed_events", event_id)
        for letter in self.rows("dead_letters"):
            if letter["event_id"] == event_id and letter["reason"].startswith(EXPIRED_REASON):
                self.delete("dead_letters", letter["id"])

    def _take(self, rows: list[dict[str, Any]], key: Callable) -> list[ParkedEvent]:
        rows = sorted(rows, key=key)
        for row in rows:
            self.delete("parked_events", row["event_id"])
        return [m.parked_from_row(row) for row in rows]

    # outbox, dead letters, attendance ---------------------------------------------------------
    def emit(self, message_id: str, topic: str, key: str, event_type: str, message: str,
             created_at: datetime) -> None:
        self._insert("outbox", dict(message_id=message_id, topic=topic, key=key, event_type=event_type,
                                    message=message, created_at=created_at, sent_at=None))

    def dead_letter(self, letter: DeadLetter, received_at: datetime) -> None:
        self._insert("dead_letters", dict(
            received_at=received_at, origin=letter.origin, line_number=letter.line_number,
            partition=letter.partition, offset=letter.offset, event_id=letter.event_id,
            reason=dead_letter_text(letter.reason), raw=dead_letter_text(letter.raw)))

    def record_attendance(self, record: Attendance) -> bool:
        session = (record.referral_id, record.cohort_id, record.session_number)
        if any((r["referral_id"], r["cohort_id"], r["session_number"]) == session for r in self.rows("attendance")):
            return False
        self._insert("attendance", dict(record.__dict__))
        return True

    def attendance_of(self, referral_ids: Iterable[str], outcomes: Iterable[str] | None = None) -> list[Attendance]:
        ids, wanted = set(referral_ids), None if outcomes is None else set(outcomes)
        rows = [r for r in self.rows("attendance")
                if r["referral_id"] in ids and (wanted is None or r["outcome"] in wanted)]
        rows.sort(key=lambda r: (r["session_date"], r["referral_id"], r["session_number"]))
        return [Attendance(r["referral_id"], r["cohort_id"], r["session_number"], r["session_date"], r["outcome"])
                for r in rows]

    def referral_facts(self, region_code: str, statuses: Iterable[str]) -> list[dict]:
        self.flush()
        wanted = set(statuses)
        people = {p["crn"]: p for p in self.rows("people") if p["region_code"] == region_code}
        out = []
        for r in self.rows("referrals"):
            if r["crn"] not in people or r["status"] not in wanted:
                continue
            requirement = self.row("requirements", r["requirement_id"])
            sentence = requirement and self.row("sentences", requirement["sentence_id"])
            allocation = self.row("allocations", r["referral_id"])
            since = max((h["at"] for h in self.history(r["referral_id"]) if h["to_status"] == r["status"]),
                        default=None)
            out.append(add_deadline(dict(
                referral_id=r["referral_id"], crn=r["crn"], programme_code=r["programme_code"], status=r["status"],
                referred_on=r["referred_on"], pdu_code=people[r["crn"]]["pdu_code"],
                requirement_end=requirement["end_date"] if requirement else None,
                sentence_end=sentence["expected_end_date"] if sentence else None, risk_band=r["risk_band"],
                cohort_id=r["cohort_id"], pinned=allocation["pinned"] if allocation else None, status_since=since)))
        return out

    def dead_letters_since(self, since: datetime) -> list[tuple[datetime, str]]:
        since = utc(since)
        rows = sorted((r for r in self.rows("dead_letters") if r["received_at"] >= since), key=lambda r: r["id"])
        return [(r["received_at"], labelled_origin(r["origin"], r["reason"][:40])) for r in rows]

    # planning -----------------------------------------------------------------------------------
    def offices(self, region_code: str) -> list[Office]:
        rows = sorted((r for r in self.rows("offices") if r["region_code"] == region_code),
                      key=lambda r: r["office_code"])
        return [Office(r["office_code"], r["pdu_code"], rooms=r["rooms"], rural=r["rural"]) for r in rows]

    def save_offices(self, region_code: str, offices: Iterable[Office]) -> None:
        for o in offices:
            self._upsert("offices", dict(office_code=o.office_code, region_code=region_code, pdu_code=o.pdu_code,
                                         rooms=o.rooms, rural=o.rural))

    def next_plan_version(self) -> int:
        return max((r["plan_version"] for r in self.rows("plans")), default=0) + 1

    def save_plan(self, record: PlanRecord) -> None:
        self._insert("plans", dict(record.__dict__))

    def active_alerts(self, region_code: str, kinds: Iterable[str] | None = None) -> dict[str, dict]:
        wanted = None if kinds is None else set(kinds)
        return {r["alert_id"]: fresh(r) for r in self.rows("active_alerts")
                if r["region_code"] == region_code and (wanted is None or r["kind"] in wanted)}

    def raise_alert(self, alert: dict) -> None:
        self._upsert("active_alerts", alert)

    def clear_alert(self, alert_id: str) -> None:
        self.delete("active_alerts", alert_id)

    def set_alert_workflow(self, alert_id: str, workflow_state: str, assigned_to: str | None,
                           snoozed_until: date | None) -> None:
        if self.row("active_alerts", alert_id) is not None:
            self._upsert("active_alerts", dict(alert_id=alert_id, workflow_state=workflow_state,
                                               assigned_to=assigned_to, snoozed_until=snoozed_until))

    def record_alert_action(self, action: dict) -> None:
        self._insert("alert_actions", action)

    def alert_actions(self, alert_id: str) -> list[dict]:
        return [fresh(r) for r in sorted(self.rows("alert_actions"), key=lambda r: r["id"])
                if r["alert_id"] == alert_id]

    def add_override(self, row: dict) -> None:
        self._insert("planner_overrides", row)

    def remove_override(self, override_id: str, removed_by: str, removed_at: datetime) -> None:
        if self.row("planner_overrides", override_id) is not None:
            self._upsert("planner_overrides", dict(override_id=override_id, removed_by=removed_by,
                                                   removed_at=removed_at))

    def overrides(self, region_code: str | None = None, removed: bool = False) -> list[dict]:
        return [fresh(r) for r in sorted(self.rows("planner_overrides"), key=lambda r: r["override_id"])
                if (region_code is None or r["region_code"] == region_code)
                and (removed or r["removed_at"] is None)]

    # limited-access cases and the audit of reads -----------------------------------------------
    def set_access(self, rule: LimitedAccess, updated_at: datetime, event_id: str) -> None:
        self._upsert("person_access", access_row(rule, updated_at, event_id))

    def access_rules(self, crns: Iterable[str] | None = None) -> dict[str, tuple[LimitedAccess, datetime | None]]:
        wanted = None if crns is None else set(crns)
        return {r["crn"]: access_of(fresh(r)) for r in self.rows("person_access")
                if wanted is None or r["crn"] in wanted}

    def record_read(self, read: dict) -> None:
        self._insert("audit_reads", read)

    def reads_of(self, crn: str, referral_ids: Iterable[str] = ()) -> list[dict]:
        return [fresh(r) for r in sorted(self.rows("audit_reads"), key=lambda r: r["id"])
                if names(r, crn, referral_ids)]

    # coordination and the outbox readers ------------------------------------------------------
    def lock_writes(self) -> None:
        """One process: nothing to serialise."""

    def try_lock(self, name: str) -> bool:
        return True

    def unsent_outbox(self, limit: int) -> list[dict]:
        return self._outbox(lambda r: r["sent_at"] is None, limit)

    def outbox_after(self, after_id: int, topics: Iterable[str], limit: int) -> list[dict]:
        topics = set(topics)
        return self._outbox(lambda r: r["id"] > after_id and r["topic"] in topics, limit)

    def _outbox(self, wanted: Callable[[dict], bool], limit: int) -> list[dict]:
        rows = sorted((r for r in self.rows("outbox") if wanted(r)), key=lambda r: r["id"])[:limit]
        return [{c: r[c] for c in ("id", "message_id", "topic", "key", "event_type", "message")} for r in rows]

    def mark_sent(self, ids: list[int], sent_at: datetime) -> None:
        for row_id in ids:
            row = self.row("outbox", row_id)
            if row is not None:
                self.put("outbox", row_id, as_stored("outbox", {**row, "sent_at": sent_at}))

    def people_naming(self, crn: str) -> list:
        """People whose non-associations name ``crn``: stored ones, plus changes not written yet."""
        stored = [p["crn"] for p in self.rows("people") if crn in p["non_associations"]]
        found = {p.crn: p for p in (self.people.get(c) for c in stored) if p is not None}
        found.update({p.crn: p for p in self.people.loaded()})
        return sorted((p for p in found.values() if crn in p.non_associations), key=lambda p: p.crn)

    def get_state(self, name: str) -> str | None:
        row = self.row("engine_state", name)
        return None if row is None else row["value"]

    def states(self, prefix: str) -> dict[str, str]:
        return {r["name"]: r["value"] for r in self.rows("engine_state") if r["name"].startswith(prefix)}

    def set_state(self, name: str, value: str) -> None:
        self._upsert("engine_state", dict(name=name, value=value))
