"""ORM-declared tables. Aggregates are stored flat; small collections are JSON columns.

Only this package imports SQLAlchemy. Writes go through :mod:`engine.persistence.uow` as batched
upserts; the declarative classes here are the schema of record for Alembic.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, Index, Integer, String, Text, TypeDecorator,
                        UniqueConstraint, and_, bindparam)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Id = String(64)
Code = String(40)


class UtcDateTime(TypeDecorator):
    """``DateTime(timezone=True)`` that stores UTC and reads back aware UTC on every backend.

    SQLite has no time zone type: SQLAlchemy writes the wall-clock digits and drops the offset, so
    an aware non-UTC value was stored shifted and read back naive. Converting to UTC on the way in
    and attaching UTC on the way out makes both backends hold and return the same instants (and makes
    ``Queries.canonical_state`` render them identically). Naive values are taken to be UTC.
    The DDL is plain ``DateTime(timezone=True)``, so migrations are unaffected.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class PersonRow(Base):
    __tablename__ = "people"
    crn: Mapped[str] = mapped_column(String(16), primary_key=True)
    region_code: Mapped[str] = mapped_column(Code, index=True, default="")
    pdu_code: Mapped[str] = mapped_column(Code, default="")
    sex: Mapped[str] = mapped_column(String(8))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    ethnicity_group: Mapped[str] = mapped_column(Code, default="")
    ldc: Mapped[bool] = mapped_column(Boolean, default=False)
    availability: Mapped[list] = mapped_column(JSON, default=list)
    preferred_offices: Mapped[list] = mapped_column(JSON, default=list)
    cannot_attend_offices: Mapped[list] = mapped_column(JSON, default=list)
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    non_associations: Mapped[list] = mapped_column(JSON, default=list)
    merged_into: Mapped[str | None] = mapped_column(String(16), index=True)  # the cases merged into a person
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    field_times: Mapped[dict | None] = mapped_column(JSON)


class SentenceRow(Base):
    __tablename__ = "sentences"
    sentence_id: Mapped[str] = mapped_column(Id, primary_key=True)
    crn: Mapped[str] = mapped_column(String(16), index=True)
    sentence_type: Mapped[str] = mapped_column(Code)
    start_date: Mapped[date] = mapped_column(Date)
    expected_end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Code)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RequirementRow(Base):
    __tablename__ = "requirements"
    requirement_id: Mapped[str] = mapped_column(Id, primary_key=True)
    crn: Mapped[str] = mapped_column(String(16), index=True)
    sentence_id: Mapped[str] = mapped_column(Id, index=True)
    programme_code: Mapped[str] = mapped_column(Code)
    kind: Mapped[str] = mapped_column(Code)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Code)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ReferralRow(Base):
    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("crn", "requirement_id", "source", name="uq_referral_intake"),)
    referral_id: Mapped[str] = mapped_column(Id, primary_key=True)
    crn: Mapped[str] = mapped_column(String(16), index=True)
    requirement_id: Mapped[str] = mapped_column(Id, index=True)
    programme_code: Mapped[str] = mapped_column(Code)
    source: Mapped[str] = mapped_column(Code)
    referred_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Code, index=True)
    pathway: Mapped[str] = mapped_column(Code)
    offence_cohort: Mapped[str] = mapped_column(Code)
    ldc: Mapped[bool] = mapped_column(Boolean)
    risk_band: Mapped[str] = mapped_column(String(8))
    need_band: Mapped[str] = mapped_column(String(8))
    ready_from: Mapped[date | None] = mapped_column(Date)
    cohort_id: Mapped[str | None] = mapped_column(Id, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ReferralHistoryRow(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "referral_history"
    __table_args__ = (UniqueConstraint("referral_id", "seq", name="uq_history_seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    referral_id: Mapped[str] = mapped_column(Id, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    from_status: Mapped[str | None] = mapped_column(Code)
    to_status: Mapped[str] = mapped_column(Code)
    reason: Mapped[str] = mapped_column(Text, default="")
    event_id: Mapped[str] = mapped_column(String(36), default="")


class CohortRow(Base):
    __tablename__ = "cohorts"
    cohort_id: Mapped[str] = mapped_column(Id, primary_key=True)
    region_code: Mapped[str] = mapped_column(Code, index=True)
    programme_code: Mapped[str] = mapped_column(Code)
    office_code: Mapped[str] = mapped_column(Code)
    pdu_code: Mapped[str] = mapped_column(Code)
    slots: Mapped[list] = mapped_column(JSON)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    group_weeks: Mapped[int] = mapped_column(Integer)
    pathway: Mapped[str] = mapped_column(Code)
    sex: Mapped[str] = mapped_column(String(8))
    offence_cohort: Mapped[str] = mapped_column(Code)
    ldc: Mapped[bool] = mapped_column(Boolean)
    min_size: Mapped[int] = mapped_column(Integer)
    max_size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Code, index=True)
    facilitator_ids: Mapped[list] = mapped_column(JSON, default=list)
    origin: Mapped[str] = mapped_column(Code)
    group_start: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    field_times: Mapped[dict | None] = mapped_column(JSON)


class FacilitatorRow(Base):
    __tablename__ = "facilitators"
    facilitator_id: Mapped[str] = mapped_column(Id, primary_key=True)
    region_code: Mapped[str] = mapped_column(Code, index=True)
    home_pdu: Mapped[str] = mapped_column(Code)
    programmes: Mapped[list] = mapped_column(JSON)
    offices: Mapped[list] = mapped_column(JSON)
    weekly_hours: Mapped[float] = mapped_column(Float)
    availability: Mapped[list] = mapped_column(JSON, default=list)
    absences: Mapped[list] = mapped_column(JSON, default=list)
    left_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AllocationRow(Base):
    """The current place of each referral: one row per referral enforces one active membership."""

    __tablename__ = "allocations"
    referral_id: Mapped[str] = mapped_column(Id, primary_key=True)
    cohort_id: Mapped[str] = mapped_column(Id, index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    allocated_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Code)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)


class PlanRow(Base):
    __tablename__ = "plans"
    plan_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(Code, index=True)
    allocator: Mapped[str] = mapped_column(Code)
    as_of: Mapped[date] = mapped_column(Date)
    assigned: Mapped[int] = mapped_column(Integer)
    unallocated: Mapped[int] = mapped_column(Integer)
    cohorts_opened: Mapped[int] = mapped_column(Integer)
    objective: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(Code)


class AttendanceRow(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("referral_id", "cohort_id", "session_number", name="uq_attendance"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    referral_id: Mapped[str] = mapped_column(Id, index=True)
    cohort_id: Mapped[str] = mapped_column(Id)
    session_number: Mapped[int] = mapped_column(Integer)
    session_date: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Code)


class ProcessedEventRow(Base):
    """One row per event id, for the copy processed first: a later copy is a duplicate when its content
    digest is the same, a conflicting duplicate (dead-lettered, never applied) when it is not."""

    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(Code)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(Code)  # APPLIED | STALE | REJECTED | EXPIRED
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)  # sha256 hex; None before 0003
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)  # the processed copy's text, for conflicts
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # server clock


class ParkedEventRow(Base):
    __tablename__ = "parked_events"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    waiting_for: Mapped[str] = mapped_column(String(100), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    raw: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    origin: Mapped[str | None] = mapped_column(String(200), nullable=True)  # file path or topic
    line_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    partition: Mapped[int | None] = mapped_column(Integer, nullable=True)
    offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    parked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True, index=True)  # event time
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # server clock
    expired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # event time; None: waiting


class OutboxRow(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    key: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    origin: Mapped[str] = mapped_column(String(200))  # file path or topic
    line_number: Mapped[int | None] = mapped_column(Integer)
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(BigInteger)
    event_id: Mapped[str | None] = mapped_column(String(36), index=True)  # a re-admission removes its expiry's
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class OfficeRow(Base):
    __tablename__ = "offices"
    office_code: Mapped[str] = mapped_column(Code, primary_key=True)
    region_code: Mapped[str] = mapped_column(Code, index=True)
    pdu_code: Mapped[str] = mapped_column(Code)
    rooms: Mapped[int] = mapped_column(Integer)
    rural: Mapped[bool] = mapped_column(Boolean, default=False)


NAME_PATTERN_INDEX = "ix_engine_state_name_pattern"
POSTGRESQL_ONLY = frozenset({NAME_PATTERN_INDEX})  # indexes the models create on PostgreSQL only (``ddl_if``)


def schema_compared_on(dialect: str):
    """Alembic's ``include_object`` comparing a database of ``dialect`` with the models: an index they create on
    PostgreSQL only is not looked for elsewhere (the migrations' env.py, the schema's drift test)."""
    def include(obj, name, type_, reflected, compare_to) -> bool:
        return not (type_ == "index" and name in POSTGRESQL_ONLY and dialect != "postgresql")
    return include


class EngineStateRow(Base):
    """The engine's own marks and positions by name, read by name or by a name's prefix (:func:`state_names_starting`).
    On PostgreSQL the names are also indexed for ``LIKE 'prefix%'`` whatever the database's collation: the primary
    key's index answers it only under the C collation, and a database created with a language's collation (a
    production default, en_GB.UTF-8 or ICU) scanned the whole index for every prefix read (migration 0011)."""

    __tablename__ = "engine_state"
    __table_args__ = (Index(NAME_PATTERN_INDEX, "name", postgresql_ops={"name": "text_pattern_ops"})
                      .ddl_if(dialect="postgresql"),)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def state_names_starting(prefix: str, dialect: str):
    """The condition "an engine_state name starts with ``prefix``", as the dialect can answer it from the primary
    key's index. SQLite never uses an index for ``LIKE 'prefix%'`` (its LIKE folds case): every such read scanned
    the whole table (0.8 ms on the demo region's 3,882 rows, twice in every transaction of the intake, whose
    confirmations read their claims and refusals this way: at 50 events/s, one transaction an event, the largest
    part of the writer's time). Its names compare byte by byte (BINARY), so :func:`state_name_range` holds exactly
    those names, read from the index (0.008 ms). Other dialects keep ``LIKE``: their collations need not order names
    byte by byte (a PostgreSQL created with ``--locale=C``, as the tests' is, reads it from the index too)."""
    bounds = state_name_range(prefix, dialect)
    if bounds is not None:
        return and_(EngineStateRow.name >= bounds["low"], EngineStateRow.name < bounds["high"])
    return EngineStateRow.name.startswith(prefix, autoescape=True)


def state_name_range(prefix: str, dialect: str) -> dict[str, str] | None:
    """On SQLite, the names that start with ``prefix`` as a range: at least the prefix, below the prefix with its
    last character's successor (the parameters of :data:`STATE_NAMES_IN_RANGE`). None where ``LIKE`` is used
    instead: other dialects, and the empty prefix (every name)."""
    if dialect != "sqlite" or not prefix:
        return None
    return {"low": prefix, "high": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


# the same range with bound parameters: one statement for every prefix (the intake reads two a transaction)
STATE_NAMES_IN_RANGE = and_(EngineStateRow.name >= bindparam("low"), EngineStateRow.name < bindparam("high"))


class ActiveAlertRow(Base):
    """Alerts currently raised: raised once per condition, deleted when cleared."""

    __tablename__ = "active_alerts"
    alert_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    region_code: Mapped[str] = mapped_column(Code, index=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(Id)
    severity: Mapped[str] = mapped_column(String(10))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime())
    act_by: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    pdu_code: Mapped[str | None] = mapped_column(Code, nullable=True)
    numbers: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the facts behind the reason
    message_key: Mapped[str | None] = mapped_column(String(100), nullable=True)  # crn, or the subject id
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # the ops workflow beside the rule's state (engine/alerts/workflow.py); None reads as OPEN
    workflow_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    assigned_to: Mapped[str | None] = mapped_column(Id, nullable=True)
    snoozed_until: Mapped[date | None] = mapped_column(Date, nullable=True)


class AlertActionRow(Base):
    """What people did to an alert (acknowledged, assigned, snoozed, resolved). Append-only, kept by the
    stable alert id after the alert is cleared or resolved, so its history stays readable."""

    __tablename__ = "alert_actions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(200), index=True)
    region_code: Mapped[str] = mapped_column(Code)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(Id)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    assigned_to: Mapped[str | None] = mapped_column(Id, nullable=True)
    snoozed_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    event_id: Mapped[str] = mapped_column(String(36))


class PlannerOverrideRow(Base):
    """A planner's override (engine/services/overrides.py): keep, never, hold or lock. A removed one keeps its
    row with who removed it and when, so what people decided stays on record."""

    __tablename__ = "planner_overrides"
    override_id: Mapped[str] = mapped_column(Id, primary_key=True)
    region_code: Mapped[str] = mapped_column(Code, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    referral_id: Mapped[str | None] = mapped_column(Id, nullable=True)
    cohort_id: Mapped[str | None] = mapped_column(Id, nullable=True)
    until: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event_id: Mapped[str] = mapped_column(String(36))
    removed_by: Mapped[str | None] = mapped_column(Id, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class JobRow(Base):
    """A re-plan, what-if or FTE sweep asked for over the API and run off the request (engine/services/jobs.py):
    QUEUED → RUNNING → SUCCEEDED or FAILED. ``heartbeat_at`` is beaten by the runner while it runs, so a job left
    RUNNING by a process that died can be told from one still running."""

    __tablename__ = "jobs"
    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    region_code: Mapped[str] = mapped_column(Code, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), index=True)
    request: Mapped[dict] = mapped_column(JSON)
    submitted_by: Mapped[str] = mapped_column(Id)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    runner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class PersonAccessRow(Base):
    """A limited-access case (engine/domain/access.py): restricted to some users, excluding others.
    One row per crn that ever had a rule (cleared rules stay, with empty lists)."""

    __tablename__ = "person_access"
    crn: Mapped[str] = mapped_column(String(16), primary_key=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    restrictions: Mapped[list] = mapped_column(JSON, default=list)
    exclusions: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the event time of the rule
    event_id: Mapped[str] = mapped_column(String(36), default="")


class AuditReadRow(Base):
    """Who read which people's data through the API, and when: one row per request. Append-only: the code
    has no update or delete path, and on PostgreSQL a trigger refuses both (migration 0007)."""

    __tablename__ = "audit_reads"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(255))  # the token's sub
    route: Mapped[str] = mapped_column(String(200))  # method and route template, e.g. GET /referrals/{referral_id}
    params: Mapped[dict] = mapped_column(JSON)  # the path's ids (region, referral id, crn, …)
    crns: Mapped[list] = mapped_column(JSON)  # the people whose data the answer held
    referral_ids: Mapped[list] = mapped_column(JSON)
