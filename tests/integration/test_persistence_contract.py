"""What only the SQL stores have, on SQLite and on a real PostgreSQL server: the schema and its Alembic
migrations, and the read side's own queries (:mod:`engine.persistence.queries`).

The unit of work's contract, which the in-memory store passes too, is tests/contract/test_unit_of_work.py.
Tests that take ``db`` build the schema through :class:`engine.persistence.database.Database` (migrations,
never ``create_all``).
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Date, Float, select

from engine import state_keys as keys
from engine.persistence import memory
from engine.persistence import tables as t
from engine.persistence.database import Database, alembic_config, make_engine, queries
from engine.domain.statuses import ReferralStatus as S
from tests.support.aggregates import T0, a_parked_event, a_person, a_referral, a_requirement, a_sentence


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def rows(db: Database, row_cls: type, order_by=None) -> list[dict]:
    """Raw rows of a table, straight from the database."""
    stmt = select(*row_cls.__table__.columns)
    if order_by is not None:
        stmt = stmt.order_by(order_by)
    with make_engine(db.url).connect() as connection:
        return [dict(r) for r in connection.execute(stmt).mappings()]


# schema ------------------------------------------------------------------------------------------

def test_migrations_are_idempotent_and_keep_existing_data(database_url):
    first = Database(database_url)
    with first.uow() as uow:
        uow.people.add(a_person())
        uow.commit()

    second = Database(database_url)
    Database(database_url)

    with second.uow() as uow:
        assert uow.people.get("X000001") == a_person()
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    with make_engine(database_url).connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
    second.dispose()


def test_the_migrated_schema_matches_the_models(db):
    with make_engine(db.url).connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "compare_server_default": False,
            "include_object": t.schema_compared_on(connection.dialect.name)})
        diffs = compare_metadata(context, t.Base.metadata)

    assert diffs == []


def test_the_in_memory_store_has_the_columns_and_column_types_of_the_schema():
    """engine/persistence/memory/ keeps its own list of the tables' columns (it imports no SQLAlchemy):
    the same names in the same order, and the date and float columns it converts as a SQL store would."""
    tables = t.Base.metadata.tables
    assert sorted(memory.COLUMNS) == sorted(tables)
    for name, table in tables.items():
        assert memory.COLUMNS[name] == tuple(c.name for c in table.columns), name
        assert memory.DATE_COLUMNS.get(name, frozenset()) == {
            c.name for c in table.columns if isinstance(c.type, Date)}, name
        assert memory.FLOAT_COLUMNS.get(name, frozenset()) == {c.name for c in table.columns
                                                                if isinstance(c.type, Float)}, name


def test_migration_0003_keeps_what_was_parked_and_processed_before_it(database_url):
    """A database at 0002 with a parked and a processed event: after the upgrade the parked one waits from
    when it happened, and copies of either arriving again are duplicates (no digest was kept for them)."""
    from alembic import command
    from sqlalchemy import text

    from engine.services.ingest import Ingestor, RawEvent
    from tests.support.events import event, person_with_referral

    config = alembic_config(database_url)
    with make_engine(database_url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    referral = person_with_referral("X000001")[3]
    person = event("person.updated", T0, crn="X000002", region_code="RS", pdu_code="RS-P01")
    with make_engine(database_url).begin() as connection:
        connection.execute(text("INSERT INTO parked_events (event_id, waiting_for, occurred_at, raw) "
                                "VALUES (:e, 'requirement:RQ-X000001', :at, :raw)"),
                           {"e": json.loads(referral)["event_id"], "at": T0, "raw": referral})
        connection.execute(text("INSERT INTO processed_events (event_id, event_type, occurred_at, outcome) "
                                "VALUES (:e, 'person.updated', :at, 'APPLIED')"),
                           {"e": json.loads(person)["event_id"], "at": T0})

    db = Database(database_url)
    [parked] = rows(db, t.ParkedEventRow)
    assert parked["parked_at"] == T0 and parked["origin"] is None and parked["digest"] is None

    ingest = Ingestor(db.uow)
    result = ingest.process([RawEvent(referral, "again", 1), RawEvent(person, "again", 2)])
    assert (result.duplicates, result.conflicts, result.parked, result.applied) == (2, 0, 0, 0)
    released = ingest.process([RawEvent(line, "later", n) for n, line in
                               enumerate(person_with_referral("X000001", assessed=False)[:3], 1)])
    assert released.unparked == 1
    with db.uow() as uow:
        assert uow.referrals.get("REF-X000001") is not None
    db.dispose()


# the read side ------------------------------------------------------------------------------------

def test_the_read_side_lists_parked_events_longest_waiting_first_with_the_hours_waited(db):
    with db.uow() as uow:
        uow.park(a_parked_event("e2", "requirement:Q2", parked_at=T0 + timedelta(hours=5)))
        uow.park(a_parked_event("e1", "requirement:Q1", parked_at=T0, line_number=9, origin="events.jsonl",
                                partition=None, offset=None))
        uow.set_state("clock", (T0 + timedelta(hours=30)).isoformat())
        uow.commit()

    q = queries(db)
    try:
        listed, total = q.parked(), q.parked_count()
    finally:
        q.close()
    assert total == 2
    assert [(p["event_id"], p["waiting_for"], p["origin"], p["line_number"], p["partition"], p["offset"],
             p["waited_hours"]) for p in listed] == [
        ("e1", "requirement:Q1", "events.jsonl", 9, None, None, 30),
        ("e2", "requirement:Q2", "programmes.referrals.v1", None, 3, 2**40 + 7, 25)]
    assert listed[0]["parked_at"] == T0.isoformat() and listed[0]["event_type"] == "referral.created"


def test_the_read_side_lists_the_outbox_by_topic_and_what_the_broker_has_not_acknowledged(db):
    with db.uow() as uow:
        for n, topic in enumerate(["cohortplan.referrals", "cohortplan.alerts", "cohortplan.alerts"]):
            uow.emit(f"m{n}", topic, f"X00000{n}", "referral.allocated", f'{{"n": {n}}}', T0 + timedelta(seconds=n))
        uow.commit()
    with db.uow() as uow:
        uow.mark_sent([uow.unsent_outbox(1)[0]["id"]], T0 + timedelta(minutes=1))
        uow.commit()

    q = queries(db)
    try:
        outbox, unsent, alerts = q.outbox(), q.unsent_outbox(), q.outbox(topic="cohortplan.alerts")
        backlog, counts = q.outbox_backlog(), q.outbox_counts()
    finally:
        q.close()
    assert [o["message_id"] for o in outbox] == ["m0", "m1", "m2"]
    assert outbox[0]["sent_at"] == (T0 + timedelta(minutes=1)).isoformat()
    assert unsent == outbox[1:] == alerts and backlog == 2 and counts == {"referral.allocated": 3}


def test_the_people_of_referrals_are_each_person_as_read_alone_and_only_the_regions(db):
    with db.uow() as uow:
        for n in range(1, 6):
            crn = f"X00000{n}"
            uow.people.add(a_person(crn, region_code="NE" if n < 5 else "NW"))
            uow.sentences.add(a_sentence(f"S{n}", crn))
            uow.requirements.add(a_requirement(f"Q{n}", crn, sentence_id=f"S{n}"))
            uow.referrals.add(a_referral(f"R{n}", crn, f"Q{n}", moves=(S.AWAITING_ALLOCATION,)))
            uow.referrals.add(a_referral(f"R{n}b", crn, f"Q{n}", source="REFER_AND_MONITOR"))
        uow.commit()
    q = queries(db)
    try:
        found = q.people_of_referrals("NE", ["R2", "R1b", "R1", "R5", "R-NONE"])
        assert found == [q.person("X000001"), q.person("X000002")]  # R5's person is of NW
        assert [r["referral_id"] for r in found[0]["referrals"]] == ["R1", "R1b"]
        assert found[0]["referrals"][0]["history"]  # each with its history, as read alone
        assert q.people_of_referrals("NE", []) == []
    finally:
        q.close()


def test_the_state_version_is_one_statement_of_marks_and_tallies_and_moves_with_the_access_rules(db):
    q = queries(db)
    try:
        empty = dict(q.state_version())
        assert empty["max:outbox"] == "" and empty["count:dead_letters"] == "0" and keys.ACCESS_RULES not in empty
        with db.uow() as uow:
            uow.bump_state(keys.ACCESS_RULES)
            uow.bump_state("dirty:NE")
            uow.commit()
        moved = dict(q.state_version())
        assert moved[keys.ACCESS_RULES] == "1" and moved["dirty:NE"] == "1"
        assert {k: v for k, v in moved.items() if k not in (keys.ACCESS_RULES, "dirty:NE")} == empty
        assert q.state_version() == tuple(sorted(moved.items()))  # sorted (name, text) pairs, as the read model keys
    finally:
        q.close()
