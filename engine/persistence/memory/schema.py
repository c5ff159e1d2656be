"""The rows the in-memory store keeps, shaped as a SQL store hands them back: every table's columns (in
the order of :mod:`engine.persistence.tables`; a contract test compares them), their keys and unique
constraints, and how a written value is stored (times in UTC, dates as dates, JSON decoded afresh)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

# The columns of every table, in the order of engine/persistence/tables.py (a contract test compares them).
COLUMNS: dict[str, tuple[str, ...]] = {name: tuple(columns.split()) for name, columns in {
    "people": "crn region_code pdu_code sex date_of_birth ethnicity_group ldc availability preferred_offices "
              "cannot_attend_offices interpreter_needed non_associations merged_into updated_at field_times",
    "sentences": "sentence_id crn sentence_type start_date expected_end_date status updated_at",
    "requirements": "requirement_id crn sentence_id programme_code kind end_date status updated_at",
    "referrals": "referral_id crn requirement_id programme_code source referred_on status pathway offence_cohort "
                 "ldc risk_band need_band ready_from cohort_id updated_at",
    "referral_history": "id referral_id seq at from_status to_status reason event_id",
    "cohorts": "cohort_id region_code programme_code office_code pdu_code slots start_date end_date group_weeks "
               "pathway sex offence_cohort ldc min_size max_size status facilitator_ids origin group_start "
               "updated_at field_times",
    "facilitators": "facilitator_id region_code home_pdu programmes offices weekly_hours availability absences "
                    "left_on updated_at",
    "allocations": "referral_id cohort_id plan_version allocated_on reason source pinned",
    "plans": "plan_version region_code allocator as_of assigned unallocated cohorts_opened objective status",
    "attendance": "id referral_id cohort_id session_number session_date outcome",
    "processed_events": "event_id event_type occurred_at outcome digest raw seen_at",
    "parked_events": "event_id waiting_for occurred_at raw event_type digest origin line_number partition offset "
                     "parked_at seen_at expired_at",
    "outbox": "id message_id topic key event_type message created_at sent_at",
    "dead_letters": "id received_at origin line_number partition offset event_id reason raw",
    "offices": "office_code region_code pdu_code rooms rural",
    "engine_state": "name value",
    "active_alerts": "alert_id kind region_code subject_type subject_id severity raised_at act_by reason pdu_code "
                     "numbers message_key updated_at workflow_state assigned_to snoozed_until",
    "alert_actions": "id alert_id region_code action actor at note assigned_to snoozed_until event_id",
    "planner_overrides": "override_id region_code kind referral_id cohort_id until reason created_by created_at "
                         "event_id removed_by removed_at",
    "person_access": "crn restricted restrictions exclusions updated_at event_id",
    "audit_reads": "id at actor route params crns referral_ids",
    "jobs": "job_id region_code kind status request submitted_by submitted_at started_at finished_at heartbeat_at "
            "runner result error",
}.items()}
# Date columns (a datetime written there reads back as its date) and float columns, as typed in tables.py.
DATE_COLUMNS: dict[str, frozenset[str]] = {name: frozenset(columns.split()) for name, columns in {
    "people": "date_of_birth", "sentences": "start_date expected_end_date", "requirements": "end_date",
    "referrals": "referred_on ready_from", "cohorts": "start_date end_date group_start", "facilitators": "left_on",
    "allocations": "allocated_on", "plans": "as_of", "attendance": "session_date", "active_alerts": "act_by snoozed_until",
    "alert_actions": "snoozed_until", "planner_overrides": "until",
}.items()}
FLOAT_COLUMNS: dict[str, frozenset[str]] = {"facilitators": frozenset({"weekly_hours"})}
# Primary key of each table (referral_history is kept by referral_id: its rows, in order, per referral).
KEYS = {"people": "crn", "sentences": "sentence_id", "requirements": "requirement_id", "referrals": "referral_id",
        "referral_history": "referral_id", "cohorts": "cohort_id", "facilitators": "facilitator_id",
        "allocations": "referral_id", "plans": "plan_version", "attendance": "id", "processed_events": "event_id",
        "parked_events": "event_id", "outbox": "id", "dead_letters": "id", "offices": "office_code",
        "engine_state": "name", "active_alerts": "alert_id", "alert_actions": "id", "planner_overrides": "override_id",
        "person_access": "crn", "audit_reads": "id",
        "jobs": "job_id"}
# Unique constraints besides the primary key.
UNIQUE = {"referrals": ("crn", "requirement_id", "source"), "outbox": ("message_id",),
          "attendance": ("referral_id", "cohort_id", "session_number")}
SEQUENCES = ("referral_history", "attendance", "outbox", "dead_letters", "alert_actions", "audit_reads")


class ConstraintViolation(Exception):
    """A commit that breaks a constraint a SQL store enforces (where SQLAlchemy raises IntegrityError)."""


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def as_stored(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row as a SQL store would hand it back: every column (missing ones None), times in UTC, dates as
    dates, JSON columns decoded afresh, enum text as plain ``str``. Unknown columns are refused, as in SQL."""
    columns = COLUMNS[table]
    unknown = set(row) - set(columns)
    if unknown:
        raise ValueError(f"table {table} has no column(s) {', '.join(sorted(unknown))}")
    dates, floats = DATE_COLUMNS.get(table, ()), FLOAT_COLUMNS.get(table, ())
    out = {}
    for column in columns:
        value = row.get(column)
        if isinstance(value, datetime):
            value = value.date() if column in dates else utc(value)
        elif isinstance(value, str) and type(value) is not str:
            value = str.__str__(value)
        elif isinstance(value, (list, tuple, dict)):
            value = json.loads(json.dumps(value))
        elif value is not None and column in floats:
            value = float(value)
        out[column] = value
    return out


def fresh(row: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stored row whose JSON values the caller may change (stored rows are never changed)."""
    return {k: json.loads(json.dumps(v)) if isinstance(v, (list, dict)) else v for k, v in row.items()}


def check_unique(table: str, rows: dict[Any, dict[str, Any]]) -> None:
    columns, seen = UNIQUE[table], set()
    for row in rows.values():
        values = tuple(row[c] for c in columns)
        if None in values:
            continue  # as in SQL, NULLs never clash
        if values in seen:
            raise ConstraintViolation(f"{table}: duplicate ({', '.join(columns)}) {values}")
        seen.add(values)
