"""Read side: plain-data answers for the CLI, the demo summary and tests (no entities leak out)."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from collections.abc import Collection
from functools import cache
from typing import Any

from sqlalchemy import Connection, String, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from engine.domain.access import LimitedAccess
from engine.domain.policies import deadline
from engine.persistence.access_rows import access_of
from engine.persistence import tables as t
from engine.persistence.rows import STATE_TABLES, canonical_state, plain


# engine_state names (engine/state_keys.py) whose values move with the state the API's lists show
VERSION_MARKS = ("clock", "access", "offset:", "dirty:", "plan_version:", "last_planned:", "alert_sweeps:", "asked:")
# the highest id of the append-only tables, and how many dead letters and parked events there are (each a
# primary-key look-up or a count of a small table)
_VERSION_TALLIES = {
    "max:outbox": func.max(t.OutboxRow.id), "max:history": func.max(t.ReferralHistoryRow.id),
    "max:alert_actions": func.max(t.AlertActionRow.id), "max:plans": func.max(t.PlanRow.plan_version),
    "max:dead_letters": func.max(t.DeadLetterRow.id), "count:dead_letters": func.count(t.DeadLetterRow.id),
    "count:parked": func.count(t.ParkedEventRow.event_id)}


@cache
def _version(dialect: str):
    """Both as (name, value) rows of one statement: one round trip (the marks read from the names' index)."""
    return union_all(
        select(t.EngineStateRow.name, t.EngineStateRow.value).where(
            or_(*(t.state_names_starting(p, dialect) for p in VERSION_MARKS))),
        *(select(literal(name, String), cast(select(value).scalar_subquery(), String))
          for name, value in _VERSION_TALLIES.items()))


def state_version_on(connection: Connection) -> tuple[tuple[str, str], ...]:
    """:meth:`Queries.state_version` on ``connection`` (engine/persistence/held.py keeps one for the API)."""
    rows = connection.execute(_version(connection.dialect.name))
    return tuple(sorted((name, "" if value is None else value) for name, value in rows))


_ACCESS = select(t.PersonAccessRow.crn, t.PersonAccessRow.restricted, t.PersonAccessRow.restrictions,
                 t.PersonAccessRow.exclusions, t.PersonAccessRow.updated_at)


def limited_access_on(connection: Connection) -> dict[str, LimitedAccess]:
    """:meth:`Queries.limited_access` on ``connection``."""
    rows = connection.execute(_ACCESS).mappings()
    return {rule.crn: rule for rule in (access_of(dict(r))[0] for r in rows) if rule.limited}


# what :meth:`Queries.person` shows of a person: reading whole rows decoded their five JSON columns (availability,
# offices, non-associations, field times) for nothing, a third of a region's referral pass in the API
PERSON_COLUMNS = (t.PersonRow.crn, t.PersonRow.pdu_code, t.PersonRow.region_code, t.PersonRow.merged_into)
IN_CHUNK = 2000  # values per IN (...) list: a region's referrals are read in a few statements, within every driver's limits


class Queries:
    def __init__(self, session: Session) -> None:
        self.s = session

    def close(self) -> None:
        self.s.close()

    def canonical_state(self) -> dict[str, list[dict[str, Any]]]:
        """Every state table as sorted rows of JSON-friendly values: equal state, equal export
        (:func:`engine.persistence.rows.canonical_state`, which the in-memory store answers too)."""
        tables = t.Base.metadata.tables
        return canonical_state({name: [dict(r) for r in self.s.execute(select(tables[name])).mappings()]
                                for name in STATE_TABLES})

    def waitlist(self, region: str | None = None, programme: str | None = None) -> list[dict[str, Any]]:
        stmt = (select(t.ReferralRow.referral_id, t.ReferralRow.crn, t.ReferralRow.programme_code,
                       t.ReferralRow.risk_band, t.ReferralRow.referred_on, t.ReferralRow.ready_from,
                       t.PersonRow.pdu_code, t.PersonRow.region_code, t.SentenceRow.expected_end_date,
                       t.RequirementRow.end_date)
                .join(t.PersonRow, t.PersonRow.crn == t.ReferralRow.crn)
                .join(t.RequirementRow, t.RequirementRow.requirement_id == t.ReferralRow.requirement_id)
                .join(t.SentenceRow, t.SentenceRow.sentence_id == t.RequirementRow.sentence_id)
                .where(t.ReferralRow.status == "AWAITING_ALLOCATION"))
        if region:
            stmt = stmt.where(t.PersonRow.region_code == region)
        if programme:
            stmt = stmt.where(t.ReferralRow.programme_code == programme)
        rows = []
        for r in self.s.execute(stmt).mappings():
            row = dict(r)
            row["deadline"] = deadline(row.pop("end_date"), row.pop("expected_end_date"))
            rows.append(row)
        return sorted(rows, key=lambda r: ({"HIGH": 0, "MEDIUM": 1}.get(r["risk_band"], 2), r["deadline"]))

    def waiting_by_programme(self) -> dict[str, int]:
        rows = self.s.execute(select(t.ReferralRow.programme_code, func.count()).where(
            t.ReferralRow.status == "AWAITING_ALLOCATION").group_by(t.ReferralRow.programme_code))
        return dict(sorted(rows.all()))


    def state_version(self) -> tuple[tuple[str, str], ...]:
        """Marks that move whenever the engine's state does, read in one small statement (the API's read model is
        keyed by them, :mod:`api.read_model`): the event clock and every consumer offset (the last applied
        event position), each region's dirty generation, plan version, planning date and alert sweep, and the
        highest id of the append-only tables every other writer adds to (the outbox: plans, alert sweeps,
        alert actions, overrides; status history; alert actions), with the dead letters' and parked events'
        counts (a redrive takes a letter out), and the limited-access rules' mark. Equal marks, equal waiting lists
        and alert lists. One statement."""
        return state_version_on(self.s.connection())

    def limited_access(self) -> dict[str, LimitedAccess]:
        """Every stored limited-access rule that limits anything, by crn (as ``UnitOfWork.access_rules``)."""
        return limited_access_on(self.s.connection())

    def referral_crn(self, referral_id: str) -> str | None:
        """The crn of a referral (one column of one row: the API asks it before every referral it shows)."""
        return self.s.execute(select(t.ReferralRow.crn).where(t.ReferralRow.referral_id == referral_id)).scalar()

    def person(self, crn: str) -> dict[str, Any] | None:
        """A person with their sentences and referrals (each with its deadline, history, place and cohort)."""
        found = self._people(select(*PERSON_COLUMNS).where(t.PersonRow.crn == crn))
        return found[0] if found else None

    def people_of_referrals(self, region: str, referral_ids: Collection[str]) -> list[dict[str, Any]]:
        """:meth:`person` of the region's people who hold any of ``referral_ids``, in one pass (a statement per table
        and :data:`IN_CHUNK` people): the API computes the referrals it was asked for together."""
        crns = sorted({row["crn"] for row in self._by(t.ReferralRow, "referral_id", list(referral_ids)).values()})
        return [person for first in range(0, len(crns), IN_CHUNK) for person in self._people(
            select(*PERSON_COLUMNS).where(t.PersonRow.region_code == region,
                                      t.PersonRow.crn.in_(crns[first:first + IN_CHUNK])).order_by(t.PersonRow.crn))]

    def _people(self, stmt) -> list[dict[str, Any]]:
        people = self.s.execute(stmt).all()  # PERSON_COLUMNS only: a person's JSON columns are not shown here
        crns = [p.crn for p in people]  # what they refer to, a statement per table (not per person or referral)
        by_crn = self._by(t.ReferralRow, "crn", crns, many=True)
        referrals = [r for crn in crns for r in by_crn.get(crn, [])]
        ids = [r["referral_id"] for r in referrals]
        held = self._by(t.SentenceRow, "crn", crns, many=True)
        history = self._by(t.ReferralHistoryRow, "referral_id", ids, many=True)
        allocations = self._by(t.AllocationRow, "referral_id", ids)
        cohorts = self._by(t.CohortRow, "cohort_id", [a["cohort_id"] for a in allocations.values()])
        requirements = self._by(t.RequirementRow, "requirement_id", [r["requirement_id"] for r in referrals])
        sentences = self._by(t.SentenceRow, "sentence_id", [r["sentence_id"] for r in requirements.values()])
        out = []
        for person in people:
            found = {"crn": person.crn, "pdu": person.pdu_code, "region": person.region_code,
                     "merged_into": person.merged_into, "sentences": [_plain(x) for x in held.get(person.crn, [])],
                     "referrals": []}
            for referral in by_crn.get(person.crn, []):
                allocation = allocations.get(referral["referral_id"])
                cohort = allocation and cohorts.get(allocation["cohort_id"])
                requirement = requirements.get(referral["requirement_id"])
                sentence = requirement and sentences.get(requirement["sentence_id"])
                ends = plain(deadline(requirement["end_date"], sentence["expected_end_date"])) if sentence else None
                steps = sorted(history.get(referral["referral_id"], []), key=lambda h: h["seq"])
                found["referrals"].append({**_plain(referral), "deadline": ends, "history": [_plain(h) for h in steps],
                                           "allocation": _plain(allocation) if allocation else None,
                                           "cohort": _plain(cohort) if cohort else None})
            out.append(found)
        return out

    def _by(self, row_cls, key: str, values: list[str], many: bool = False) -> dict[str, Any]:
        """Rows (plain mappings, no ORM objects: a region's are tens of thousands) of ``row_cls`` whose column ``key``
        is one of ``values``, by key (a list of them with ``many``, in the stored order); a statement per
        :data:`IN_CHUNK` values."""
        found: dict[str, Any] = {}
        table = row_cls.__table__
        wanted = sorted(set(values))
        for first in range(0, len(wanted), IN_CHUNK):
            stmt = select(*table.columns).where(table.c[key].in_(wanted[first:first + IN_CHUNK]))
            for row in self.s.execute(stmt).mappings():
                if many:
                    found.setdefault(row[key], []).append(row)
                else:
                    found[row[key]] = row
        return found

    def open_alerts(self, region: str | None = None, kinds: list[str] | None = None, pdu: str | None = None,
                    subject: str | None = None) -> list[dict[str, Any]]:
        """Open alerts, most severe and most urgent first (act-by date, then raised)."""
        stmt = select(*t.ActiveAlertRow.__table__.columns)  # plain rows: no ORM objects to build for each alert
        if region:
            stmt = stmt.where(t.ActiveAlertRow.region_code == region)
        if kinds:
            stmt = stmt.where(t.ActiveAlertRow.kind.in_(kinds))
        if pdu:
            stmt = stmt.where(t.ActiveAlertRow.pdu_code == pdu)
        if subject:
            stmt = stmt.where(t.ActiveAlertRow.subject_id == subject)
        rows = [{name: plain(value) for name, value in r.items()} for r in self.s.execute(stmt).mappings()]
        rank = {"CRITICAL": 0, "WARNING": 1, "INFO": 2}
        return sorted(rows, key=lambda r: (rank.get(r["severity"], 3), r["act_by"] or "9999", r["raised_at"],
                                           r["alert_id"]))

    def dead_letters(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        rows = self.s.execute(select(t.DeadLetterRow).order_by(t.DeadLetterRow.id).offset(offset)
                              .limit(limit)).scalars()
        return [_row(r) for r in rows]

    def latest_plan(self, region: str) -> dict[str, Any] | None:
        """The region's last published plan: its record (version, as of, allocator, counts, objective, status)
        with the proven bound, gap and note its ``plan.published`` message carried; None if never planned."""
        plan = self.s.execute(select(t.PlanRow).where(t.PlanRow.region_code == region)
                              .order_by(t.PlanRow.plan_version.desc()).limit(1)).scalar()
        if plan is None:
            return None
        message = self.s.execute(select(t.OutboxRow.message).where(
            t.OutboxRow.event_type == "plan.published", t.OutboxRow.key == region)
            .order_by(t.OutboxRow.id.desc()).limit(1)).scalar()
        payload = json.loads(message)["payload"] if message else {}
        same = payload.get("plan_version") == plan.plan_version
        return {**_row(plan), **{k: payload.get(k) if same else None for k in ("gap", "best_bound", "note")}}

    def dead_letter_count(self) -> int:
        return self.s.execute(select(func.count()).select_from(t.DeadLetterRow)).scalar_one()

    def parked(self, limit: int = 50) -> list[dict[str, Any]]:
        """Events waiting for something not seen yet, longest waiting first: id, type, what it waits for,
        since when (event time), where it came from, and hours waited by the event clock."""
        k = t.ParkedEventRow
        clock = self.s.execute(select(t.EngineStateRow.value).where(t.EngineStateRow.name == "clock")).scalar()
        now = datetime.fromisoformat(clock) if clock else None
        rows = self.s.execute(select(k.event_id, k.event_type, k.waiting_for, k.occurred_at, k.parked_at, k.origin,
                                     k.line_number, k.partition, k.offset).where(k.expired_at.is_(None)).order_by(
            k.parked_at, k.occurred_at, k.event_id).limit(limit)).mappings()
        out = []
        for r in rows:
            since = r["parked_at"] or r["occurred_at"]
            out.append({**{name: plain(value) for name, value in r.items()},
                        "waited_hours": int((now - since) / timedelta(hours=1)) if now and now > since else 0})
        return out

    def parked_count(self) -> int:
        k = t.ParkedEventRow  # waiting now; the expired (dormant) ones are dead letters
        return self.s.execute(select(func.count()).select_from(k).where(k.expired_at.is_(None))).scalar_one()

    def dormant_count(self) -> int:
        """Expired events kept for re-admission (each is also a dead letter)."""
        k = t.ParkedEventRow
        return self.s.execute(select(func.count()).select_from(k).where(k.expired_at.is_not(None))).scalar_one()

    def outbox(self, topic: str | None = None) -> list[dict[str, Any]]:
        stmt = select(t.OutboxRow).order_by(t.OutboxRow.id)
        if topic:
            stmt = stmt.where(t.OutboxRow.topic == topic)
        return [_row(r) for r in self.s.execute(stmt).scalars()]

    def outbox_backlog(self) -> int:
        """Outbox rows the broker has not acknowledged yet."""
        return self.s.execute(select(func.count()).select_from(t.OutboxRow).where(
            t.OutboxRow.sent_at.is_(None))).scalar_one()

    def outbox_counts(self) -> dict[str, int]:
        rows = self.s.execute(select(t.OutboxRow.event_type, func.count()).group_by(t.OutboxRow.event_type))
        return dict(sorted(rows.all()))

    def requirement_outcomes(self, as_of: date) -> list[dict[str, Any]]:
        """Per referral: deadline, closing status, and the start of the cohort it got (if any)."""
        stmt = (select(t.ReferralRow.referral_id, t.ReferralRow.status, t.ReferralRow.programme_code,
                       t.ReferralRow.referred_on, t.RequirementRow.status.label("requirement_status"),
                       t.RequirementRow.end_date, t.SentenceRow.expected_end_date,
                       t.SentenceRow.status.label("sentence_status"), t.CohortRow.start_date.label("cohort_start"),
                       t.CohortRow.end_date.label("cohort_end"))
                .join(t.RequirementRow, t.RequirementRow.requirement_id == t.ReferralRow.requirement_id)
                .join(t.SentenceRow, t.SentenceRow.sentence_id == t.RequirementRow.sentence_id)
                .outerjoin(t.AllocationRow, t.AllocationRow.referral_id == t.ReferralRow.referral_id)
                .outerjoin(t.CohortRow, t.CohortRow.cohort_id == t.AllocationRow.cohort_id))
        started = {r for (r,) in self.s.execute(select(t.ReferralHistoryRow.referral_id).where(
            t.ReferralHistoryRow.to_status == "ON_PROGRAMME").distinct())}
        rows = []
        for r in self.s.execute(stmt).mappings():
            row = dict(r)
            row["deadline"] = deadline(row["end_date"], row["expected_end_date"])
            row["ever_on_programme"] = row["referral_id"] in started
            rows.append(row)
        return rows

    def counts(self) -> dict[str, int]:
        out = {}
        for row_cls in (t.PersonRow, t.ReferralRow, t.CohortRow, t.FacilitatorRow, t.AllocationRow, t.PlanRow,
                        t.ProcessedEventRow, t.ParkedEventRow, t.OutboxRow, t.DeadLetterRow):
            out[row_cls.__tablename__] = self.s.execute(select(func.count()).select_from(row_cls)).scalar_one()
        return out

    def unsent_outbox(self, limit: int = 500) -> list[dict[str, Any]]:
        stmt = select(t.OutboxRow).where(t.OutboxRow.sent_at.is_(None)).order_by(t.OutboxRow.id).limit(limit)
        return [_row(r) for r in self.s.execute(stmt).scalars()]


def _row(obj) -> dict[str, Any]:
    return {c.name: plain(getattr(obj, c.name)) for c in obj.__table__.columns}


def _plain(row) -> dict[str, Any]:
    """A row mapping as JSON-friendly data (as :func:`_row` an ORM row)."""
    return {name: plain(value) for name, value in row.items()}

