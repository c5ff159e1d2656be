"""Limited-access rules and the audit of reads, on every store (in memory, SQLite, PostgreSQL): the unit of
work's ``set_access``/``access_rules`` and ``record_read``/``reads_of``; and the audit table refuses UPDATE and
DELETE (on PostgreSQL TRUNCATE too) whatever the code does, by triggers of migration 0007."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.domain.access import LimitedAccess
from engine.persistence.database import make_engine
from tests.support.aggregates import T0


@pytest.fixture
def db(store):
    return store


def a_read(number: int, crns=("X1",), referral_ids=("R1",), actor="pp.user-1") -> dict:
    return dict(at=T0 + timedelta(minutes=number), actor=actor, route="GET /referrals/{referral_id}",
                params={"referral_id": "R1"}, crns=list(crns), referral_ids=list(referral_ids))


def test_an_access_rule_is_stored_replaced_and_read_back_by_crn(db):
    restricted = LimitedAccess.of("X1", ["pp.user-1"], ["staff.user-9"])
    with db.uow() as uow:
        uow.set_access(restricted, T0, "e-1")
        uow.set_access(LimitedAccess.of("X2", exclusions=["staff.user-9"]), T0, "e-2")
        assert uow.access_rules(["X1"]) == {"X1": (restricted, T0)}  # read own writes
        uow.commit()
    lifted = LimitedAccess.of("X2")
    with db.uow() as uow:
        uow.set_access(lifted, T0 + timedelta(hours=1), "e-3")
        uow.commit()
    with db.uow() as uow:
        assert uow.access_rules() == {"X1": (restricted, T0), "X2": (lifted, T0 + timedelta(hours=1))}
        assert uow.access_rules(["X3"]) == {}
    assert db.rows("person_access", "crn")[0] | {"updated_at": None} == dict(
        crn="X1", restricted=True, restrictions=["pp.user-1"], exclusions=["staff.user-9"], updated_at=None,
        event_id="e-1")


def test_a_rule_restricted_to_nobody_stays_restricted(db):
    nobody = LimitedAccess("X1", True, frozenset(), frozenset())
    with db.uow() as uow:
        uow.set_access(nobody, T0, "e-1")
        uow.commit()
    with db.uow() as uow:
        rule, _ = uow.access_rules()["X1"]
    assert rule == nobody and not rule.may_see("anyone")


def test_reads_are_appended_and_found_by_crn_or_referral_id(db):
    with db.uow() as uow:
        uow.record_read(a_read(1))
        uow.record_read(a_read(2, crns=["X2"], referral_ids=["R2", "R1_"]))
        uow.record_read(a_read(3, crns=[], referral_ids=["R1"], actor="tm.user-4"))
        uow.commit()
    with db.uow() as uow:
        assert [r["actor"] for r in uow.reads_of("X1")] == ["pp.user-1"]
        assert [r["at"] for r in uow.reads_of("X1", ["R1"])] == [T0 + timedelta(minutes=1),
                                                                 T0 + timedelta(minutes=3)]
        assert uow.reads_of("X9", ["R"]) == []  # a prefix or a LIKE wildcard matches nothing
        found = uow.reads_of("X2")
    assert [(r["route"], r["params"], r["crns"], r["referral_ids"]) for r in found] == [
        ("GET /referrals/{referral_id}", {"referral_id": "R1"}, ["X2"], ["R2", "R1_"])]
    assert db.count("audit_reads") == 3


@pytest.fixture
def database_db(database_url):
    from engine.persistence.database import Database
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.mark.parametrize("statement", ["UPDATE audit_reads SET actor = 'someone-else'", "DELETE FROM audit_reads",
                                       "TRUNCATE audit_reads"])
def test_the_database_refuses_to_change_or_remove_an_audited_read(database_db, statement):
    """SQLite has no TRUNCATE (its DELETE without WHERE is refused as any DELETE)."""
    with database_db.uow() as uow:
        uow.record_read(a_read(1))
        uow.commit()
    sqlite = database_db.url.startswith("sqlite")
    if sqlite and statement.startswith("TRUNCATE"):
        statement = "DELETE FROM audit_reads WHERE 1 = 1"
    with make_engine(database_db.url).connect() as connection:
        with pytest.raises(DBAPIError, match="audit_reads is append-only"):
            connection.execute(text(statement))
        connection.rollback()
        assert connection.execute(text("SELECT actor FROM audit_reads")).scalars().all() == ["pp.user-1"]
