"""Contract of the unit of work, run identically on every store: in memory, SQLite, a real PostgreSQL server.

Every test takes ``db``, the store under test (the ``store`` fixture of tests/conftest.py: ``memory`` /
``sqlite`` / ``postgres``; the SQL ones build their schema through Alembic migrations, never ``create_all``),
writes in one unit of work and reads back in a *new* one, so nothing is answered from the identity map by
accident. What is committed is checked through the store's raw rows (``db.rows``, ``db.count``), its
canonical state export and its outbox and dead letters (tests/support/stores.py).

What only a SQL store has (the schema and its migrations, the read side's own queries) is checked in
tests/integration/test_persistence_contract.py, on SQLite and PostgreSQL.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from engine.domain.calendar import Period, WeeklySlot
from engine.domain.model import CohortStatus, Facilitator, Office, Person, Referral, StatusChange
from engine.domain.statuses import ReferralStatus as S
from engine.ports import Attendance, DeadLetter, ParkedEvent, SeenCopy
from tests.support.aggregates import (AGGREGATES, BST, T0, a_cohort, a_facilitator, a_parked_event, a_person,
                                      a_plan, a_referral, a_requirement, a_sentence, an_alert, an_allocation,
                                      assert_same_value_and_type)


# helpers -----------------------------------------------------------------------------------------

@pytest.fixture
def db(store):
    return store


def raws(parked: list[ParkedEvent]) -> list[str]:
    return [p.raw for p in parked]


# round trips -------------------------------------------------------------------------------------

@pytest.mark.parametrize("aggregate", list(AGGREGATES))
def test_every_aggregate_is_equal_after_reload_in_a_new_unit_of_work(db, aggregate):
    repo_name, make, key = AGGREGATES[aggregate]
    original = make()
    with db.uow() as uow:
        getattr(uow, repo_name).add(original)
        uow.commit()

    with db.uow() as uow:
        loaded = getattr(uow, repo_name).get(getattr(original, key))

    assert loaded is not original
    assert_same_value_and_type(loaded, make())


def test_a_person_keeps_its_availability_offices_and_non_associations_as_frozensets(db):
    with db.uow() as uow:
        uow.people.add(a_person())
        uow.commit()

    with db.uow() as uow:
        person = uow.people.get("X000001")

    assert person.availability == frozenset({(0, "DAYTIME"), (2, "EVENING"), (4, "DAYTIME")})
    assert all(type(pair) is tuple for pair in person.availability)
    assert person.preferred_offices == frozenset({"OFF_A", "OFF_B"})
    assert person.cannot_attend_offices == frozenset({"OFF_Z"})
    assert person.non_associations == frozenset({"X000008", "X000009"})
    assert person.updated_at == T0 and person.updated_at.utcoffset() == timedelta(0)


def test_a_cohort_keeps_its_slot_order_and_facilitator_order(db):
    with db.uow() as uow:
        uow.cohorts.add(a_cohort())
        uow.commit()

    with db.uow() as uow:
        cohort = uow.cohorts.get("C1")

    assert cohort.slots == (WeeklySlot(3, "18:00", Period.EVENING), WeeklySlot(0, "09:30", Period.DAYTIME))
    assert all(type(s) is WeeklySlot and type(s.period) is Period for s in cohort.slots)
    assert cohort.facilitator_ids == ("F2", "F1")


def test_a_facilitator_keeps_its_absences_as_date_pairs(db):
    with db.uow() as uow:
        uow.facilitators.add(a_facilitator())
        uow.commit()

    with db.uow() as uow:
        facilitator = uow.facilitators.get("F1")

    assert facilitator.absences == ((date(2025, 8, 4), date(2025, 8, 15)), (date(2025, 12, 22), date(2026, 1, 2)))
    assert all(type(d) is date for pair in facilitator.absences for d in pair)
    assert facilitator.weekly_hours == 22.5


def test_a_referral_reloads_with_its_whole_history_in_order(db):
    with db.uow() as uow:
        uow.referrals.add(a_referral(moves=(S.AWAITING_ALLOCATION, S.SCHEDULED, S.ON_PROGRAMME)))
        uow.commit()

    with db.uow() as uow:
        referral = uow.referrals.get("R1")

    assert referral.status is S.ON_PROGRAMME
    assert referral.history == [
        StatusChange(T0, S.AWAITING_ASSESSMENT, S.AWAITING_ALLOCATION, "move 0", "event-0"),
        StatusChange(T0 + timedelta(hours=1), S.AWAITING_ALLOCATION, S.SCHEDULED, "move 1", "event-1"),
        StatusChange(T0 + timedelta(hours=2), S.SCHEDULED, S.ON_PROGRAMME, "move 2", "event-2"),
    ]
    assert all(type(c.to_status) is S and type(c.from_status) is S for c in referral.history)


def test_optional_fields_left_empty_reload_as_none_and_empty_collections(db):
    person = Person("X000002")
    referral = Referral("R2", "X000002", "Q2", "BB", "NDELIUS", date(2025, 2, 1))
    facilitator = Facilitator("F9", "NE", "PDU_A", frozenset(), frozenset(), 0.0)
    with db.uow() as uow:
        uow.people.add(person)
        uow.referrals.add(referral)
        uow.facilitators.add(facilitator)
        uow.commit()

    with db.uow() as uow:
        assert_same_value_and_type(uow.people.get("X000002"), Person("X000002"))
        assert_same_value_and_type(uow.referrals.get("R2"), Referral("R2", "X000002", "Q2", "BB", "NDELIUS",
                                                                      date(2025, 2, 1)))
        assert_same_value_and_type(uow.facilitators.get("F9"),
                                   Facilitator("F9", "NE", "PDU_A", frozenset(), frozenset(), 0.0))


def test_a_timestamp_with_a_non_utc_offset_reloads_as_the_same_instant_in_utc(db):
    summer = datetime(2025, 6, 1, 12, 0, tzinfo=BST)  # 11:00 UTC
    with db.uow() as uow:
        uow.people.add(a_person(updated_at=summer))
        uow.referrals.add(a_referral())
        uow.park(ParkedEvent("e1", "crn:X000001", summer, "raw"))
        uow.commit()
    with db.uow() as uow:
        uow.referrals.get("R1").move_to(S.AWAITING_ALLOCATION, summer, "assessed", "e2")
        uow.commit()

    with db.uow() as uow:
        person, referral = uow.people.get("X000001"), uow.referrals.get("R1")

    assert person.updated_at == summer
    assert person.updated_at.utcoffset() == timedelta(0)
    assert referral.history[0].at == summer
    assert db.rows("parked_events")[0]["occurred_at"] == summer


def test_a_loaded_entity_is_the_same_object_for_get_and_where_in_one_unit_of_work(db):
    with db.uow() as uow:
        uow.people.add(a_person())
        uow.commit()

    with db.uow() as uow:
        first = uow.people.get("X000001")
        assert uow.people.get("X000001") is first
        assert uow.people.where(region_code="NE") == [first]
        assert uow.people.where(region_code="NE")[0] is first
        assert uow.people.get("X_UNKNOWN") is None


# change tracking and transactions ----------------------------------------------------------------

def test_changes_to_a_loaded_entity_are_saved_on_commit_without_calling_add_again(db):
    with db.uow() as uow:
        uow.people.add(a_person())
        uow.cohorts.add(a_cohort())
        uow.facilitators.add(a_facilitator())
        uow.commit()

    later = T0 + timedelta(days=1)
    with db.uow() as uow:
        person = uow.people.get("X000001")
        person.pdu_code = "PDU_B"
        person.availability = person.availability | {(5, "DAYTIME")}
        person.non_associations = frozenset()
        person.updated_at = later
        cohort = uow.cohorts.where(cohort_id="C1")[0]
        cohort.status = CohortStatus.STARTED
        cohort.facilitator_ids = ("F3",)
        cohort.slots = (WeeklySlot(1, "10:00"),)
        facilitator = uow.facilitators.get("F1")
        facilitator.absences = ()
        uow.commit()

    with db.uow() as uow:
        assert uow.people.get("X000001") == replace(
            a_person(), pdu_code="PDU_B", non_associations=frozenset(), updated_at=later,
            availability=a_person().availability | {(5, "DAYTIME")})
        assert uow.cohorts.get("C1") == replace(a_cohort(), status=CohortStatus.STARTED, facilitator_ids=("F3",),
                                                slots=(WeeklySlot(1, "10:00"),))
        assert uow.facilitators.get("F1").absences == ()


def test_committing_an_unchanged_loaded_entity_writes_nothing_new(db):
    with db.uow() as uow:
        uow.referrals.add(a_referral(moves=(S.AWAITING_ALLOCATION,)))
        uow.people.add(a_person())
        uow.commit()
    before = db.state()

    with db.uow() as uow:
        uow.referrals.get("R1")
        uow.people.where(crn=["X000001"])
        uow.commit()

    assert db.state() == before
    assert db.count("referral_history") == 1


def test_nothing_is_written_when_the_unit_of_work_is_not_committed(db):
    with db.uow() as uow:
        uow.people.add(a_person())
        uow.commit()
    before = db.state()

    with db.uow() as uow:
        uow.people.get("X000001").pdu_code = "CHANGED"
        uow.people.add(a_person("X000002"))
        uow.referrals.add(a_referral(moves=(S.AWAITING_ALLOCATION,)))
        uow.people.where(pdu_code="CHANGED")  # autoflush: the writes reach the transaction, not the database
        uow.mark_processed("e1", "referral.created", T0, "APPLIED")
        uow.emit("m1", "topic", "key", "t.e", "{}", T0)
        uow.dead_letter(DeadLetter("file.jsonl", "bad json", "{", line_number=1), T0)
        uow.park(ParkedEvent("e2", "crn:X000002", T0, "{}"))
        uow.record_attendance(Attendance("R1", "C1", 1, date(2025, 5, 5), "ATTENDED"))
        uow.save_offices("NE", [Office("OFF_A", "PDU_A", rooms=2)])
        uow.save_plan(a_plan(1))
        uow.raise_alert(an_alert())
        uow.set_state("cursor", "42")
        assert uow.people.where(pdu_code="CHANGED") != []
        # leaving the block without commit rolls back

    assert db.state() == before
    assert db.count("dead_letters") == 0
    with db.uow() as uow:
        assert uow.people.get("X000001").pdu_code == "PDU_A"
        assert uow.people.get("X000002") is None
        assert uow.get_state("cursor") is None


def test_an_exception_inside_the_unit_of_work_rolls_everything_back(db):
    with pytest.raises(RuntimeError, match="boom"):
        with db.uow() as uow:
            uow.people.add(a_person())
            uow.flush()
            raise RuntimeError("boom")

    assert db.count("people") == 0


def test_a_unit_of_work_can_commit_several_times_and_only_new_changes_are_written(db):
    with db.uow() as uow:
        referral = uow.referrals.add(a_referral())
        uow.commit()
        referral.move_to(S.AWAITING_ALLOCATION, T0, "assessed", "e1")
        uow.commit()
        referral.move_to(S.SCHEDULED, T0 + timedelta(hours=1), "allocated", "e2", by_allocation=True)
        uow.commit()
        uow.commit()

    history = db.rows("referral_history", order_by="seq")
    assert [(h["seq"], h["from_status"], h["to_status"]) for h in history] == [
        (0, "AWAITING_ASSESSMENT", "AWAITING_ALLOCATION"), (1, "AWAITING_ALLOCATION", "SCHEDULED")]
    assert db.rows("referrals")[0]["status"] == "SCHEDULED"


def test_another_unit_of_work_sees_the_changes_only_once_they_are_committed(db):
    with db.uow() as uow:
        uow.people.add(a_person())
        uow.commit()

    with db.uow() as writer:
        writer.people.get("X000001").pdu_code = "PDU_B"
        writer.people.add(a_person("X000002"))
        writer.set_state("cursor", "1")
        writer.mark_processed("e1", "person.updated", T0, "APPLIED")
        writer.flush()
        with db.uow() as reader:
            assert reader.people.get("X000001").pdu_code == "PDU_A"
            assert reader.people.get("X000002") is None and reader.people.where(region_code="NE") != []
            assert reader.get_state("cursor") is None and set(reader.seen_copies(["e1"])) == set()
        writer.commit()

    with db.uow() as reader:
        assert reader.people.get("X000001").pdu_code == "PDU_B" and reader.people.get("X000002") is not None
        assert reader.get_state("cursor") == "1" and set(reader.seen_copies(["e1"])) == {"e1"}


def test_an_entity_only_read_does_not_undo_what_another_unit_of_work_committed_meanwhile(db):
    with db.uow() as uow:
        uow.people.add(a_person())
        uow.commit()

    with db.uow() as reader:
        assert reader.people.get("X000001").pdu_code == "PDU_A"
        with db.uow() as writer:
            writer.people.get("X000001").pdu_code = "PDU_B"
            writer.commit()
        reader.commit()  # nothing changed here: nothing written

    with db.uow() as uow:
        assert uow.people.get("X000001").pdu_code == "PDU_B"


# where ---------------------------------------------------------------------------------------------

def test_where_sees_entities_added_earlier_in_the_same_unit_of_work(db):
    with db.uow() as uow:
        uow.referrals.add(a_referral("R0", requirement_id="Q0", status=S.WITHDRAWN))
        uow.commit()

    with db.uow() as uow:
        added = [uow.referrals.add(a_referral(f"R{i}", requirement_id=f"Q{i}", status=S.AWAITING_ALLOCATION))
                 for i in (1, 2, 3)]
        found = uow.referrals.where(status=S.AWAITING_ALLOCATION)
        assert sorted(r.referral_id for r in found) == ["R1", "R2", "R3"]
        assert all(any(f is a for a in added) for f in found)  # the very objects added, not copies

        # an in-memory change to a loaded entity is visible to where() too
        r0 = uow.referrals.get("R0")
        r0.status = S.DEFERRED
        assert [r.referral_id for r in uow.referrals.where(status="DEFERRED")] == ["R0"]
        assert uow.referrals.where(status=S.WITHDRAWN) == []


def test_where_supports_lists_tuples_and_sets_as_in_and_combines_filters(db):
    with db.uow() as uow:
        for i in range(1, 6):
            uow.referrals.add(a_referral(f"R{i}", crn=f"X00000{i % 2}", requirement_id=f"Q{i}",
                                         programme_code="BB" if i <= 3 else "HSP"))
        uow.commit()

    with db.uow() as uow:
        def ids(**equals):
            return sorted(r.referral_id for r in uow.referrals.where(**equals))

        assert ids(referral_id=["R1", "R3", "R9"]) == ["R1", "R3"]
        assert ids(referral_id=("R2",)) == ["R2"]
        assert ids(referral_id={"R4", "R5"}) == ["R4", "R5"]
        assert ids(referral_id=frozenset({"R5"})) == ["R5"]
        assert ids(referral_id=[]) == []
        assert ids(crn="X000001", programme_code=["BB", "HSP"]) == ["R1", "R3", "R5"]
        assert ids(crn="X000001", programme_code="HSP") == ["R5"]
        assert ids(ready_from=date(2025, 4, 1)) == ["R1", "R2", "R3", "R4", "R5"]
        assert ids(cohort_id=None) == ["R1", "R2", "R3", "R4", "R5"]  # == None compiles to IS NULL


# referral history and intake uniqueness -------------------------------------------------------

def test_referral_history_is_append_only_and_earlier_rows_are_never_rewritten(db):
    with db.uow() as uow:
        uow.referrals.add(a_referral(moves=(S.AWAITING_ALLOCATION,)))
        uow.commit()
    first = db.rows("referral_history", order_by="seq")

    with db.uow() as uow:
        uow.referrals.get("R1").move_to(S.SCHEDULED, T0 + timedelta(days=1), "allocated", "e-2",
                                        by_allocation=True)
        uow.commit()
    second = db.rows("referral_history", order_by="seq")

    with db.uow() as uow:
        uow.referrals.where(referral_id=["R1"])[0].move_to(S.ON_PROGRAMME, T0 + timedelta(days=2), "started", "e-3")
        uow.commit()
    third = db.rows("referral_history", order_by="seq")

    assert len(first) == 1 and len(second) == 2 and len(third) == 3
    assert second[:1] == first  # ids included: the earlier row is untouched
    assert third[:2] == second
    assert [h["id"] for h in third] == sorted(h["id"] for h in third)  # inserted in order
    assert db.state()["referral_history"] == [
        {"referral_id": "R1", "seq": 0, "at": T0.isoformat(), "from_status": "AWAITING_ASSESSMENT",
         "to_status": "AWAITING_ALLOCATION", "reason": "move 0", "event_id": "event-0"},
        {"referral_id": "R1", "seq": 1, "at": (T0 + timedelta(days=1)).isoformat(),
         "from_status": "AWAITING_ALLOCATION", "to_status": "SCHEDULED", "reason": "allocated", "event_id": "e-2"},
        {"referral_id": "R1", "seq": 2, "at": (T0 + timedelta(days=2)).isoformat(), "from_status": "SCHEDULED",
         "to_status": "ON_PROGRAMME", "reason": "started", "event_id": "e-3"},
    ]


def test_the_database_rejects_a_second_referral_for_the_same_crn_requirement_and_source(db):
    with db.uow() as uow:
        uow.referrals.add(a_referral("R1"))
        uow.commit()

    with db.uow() as uow:
        uow.referrals.add(a_referral("R2"))  # different id, same (crn, requirement_id, source)
        with pytest.raises(db.integrity_error):
            uow.commit()

    with db.uow() as uow:
        uow.referrals.add(a_referral("R3", source="COURT"))  # a different source is a different intake
        uow.commit()
    assert sorted(r["referral_id"] for r in db.rows("referrals")) == ["R1", "R3"]


def test_two_referrals_for_the_same_intake_in_one_unit_of_work_fail_on_commit(db):
    with db.uow() as uow:
        uow.referrals.add(a_referral("R1"))
        uow.referrals.add(a_referral("R2"))
        with pytest.raises(db.integrity_error):
            uow.commit()

    assert db.count("referrals") == 0


# allocations and removal ---------------------------------------------------------------------------

def test_one_allocation_row_per_referral_and_re_adding_replaces_it(db):
    with db.uow() as uow:
        uow.allocations.add(an_allocation("R1", "C1"))
        uow.allocations.add(an_allocation("R2", "C1"))
        uow.commit()

    with db.uow() as uow:
        uow.allocations.add(an_allocation("R1", "C2", plan_version=4, pinned=False, source="PLAN"))
        uow.commit()

    with db.uow() as uow:
        uow.allocations.add(an_allocation("R2", "C3"))
        uow.allocations.add(an_allocation("R2", "C4"))  # same unit of work: the last one wins
        uow.commit()

    stored = {r["referral_id"]: r for r in db.rows("allocations")}
    assert sorted(stored) == ["R1", "R2"]
    assert (stored["R1"]["cohort_id"], stored["R1"]["plan_version"], stored["R1"]["pinned"]) == ("C2", 4, False)
    assert stored["R2"]["cohort_id"] == "C4"
    with db.uow() as uow:
        assert uow.allocations.get("R1") == an_allocation("R1", "C2", plan_version=4, pinned=False, source="PLAN")
        assert sorted(a.referral_id for a in uow.allocations.where(cohort_id=["C1", "C2", "C4"])) == ["R1", "R2"]


def test_remove_deletes_the_row_and_hides_the_entity_at_once(db):
    with db.uow() as uow:
        uow.people.add(a_person("X000001"))
        uow.people.add(a_person("X000002"))
        uow.allocations.add(an_allocation())
        uow.commit()

    with db.uow() as uow:
        uow.people.get("X000001")
        uow.people.remove("X000001")
        uow.allocations.remove("R1")  # never loaded
        assert uow.people.get("X000001") is None
        assert uow.allocations.get("R1") is None
        assert [p.crn for p in uow.people.where(region_code="NE")] == ["X000002"]
        uow.commit()

    assert [r["crn"] for r in db.rows("people")] == ["X000002"]
    assert db.count("allocations") == 0
    with db.uow() as uow:
        assert uow.people.get("X000001") is None
        uow.people.remove("NEVER_EXISTED")
        uow.commit()


def test_an_entity_removed_then_added_again_in_one_unit_of_work_is_kept(db):
    with db.uow() as uow:
        uow.people.add(a_person())
        uow.commit()

    with db.uow() as uow:
        uow.people.remove("X000001")
        uow.people.add(a_person(pdu_code="PDU_NEW"))
        uow.commit()

    with db.uow() as uow:
        assert uow.people.get("X000001").pdu_code == "PDU_NEW"


# idempotency and parking -------------------------------------------------------------------------

def test_seen_copies_sees_committed_ids_and_ids_queued_in_the_same_unit_of_work(db):
    with db.uow() as uow:
        assert set(uow.seen_copies([])) == set()
        assert set(uow.seen_copies(["e1"])) == set()
        uow.mark_processed("e1", "referral.created", T0, "APPLIED")
        assert set(uow.seen_copies(["e1", "e2"])) == {"e1"}  # queued, not flushed yet
        uow.mark_processed("e2", "referral.created", T0, "PARKED")
        assert set(uow.seen_copies(iter(["e2", "e3"]))) == {"e2"}
        uow.commit()

    with db.uow() as uow:
        assert set(uow.seen_copies(["e1", "e2", "e3"])) == {"e1", "e2"}
        uow.mark_processed("e3", "status.changed", T0, "STALE")
        uow.flush()
        assert set(uow.seen_copies(["e3"])) == {"e3"}  # flushed, not committed

    stored = {r["event_id"]: r for r in db.rows("processed_events")}
    assert sorted(stored) == ["e1", "e2"]
    assert stored["e2"]["outcome"] == "PARKED"


def test_unpark_returns_raw_events_in_occurrence_order_and_removes_them(db):
    with db.uow() as uow:
        uow.park(ParkedEvent("e3", "crn:X1", T0 + timedelta(minutes=2), "third"))
        uow.park(ParkedEvent("e1", "crn:X1", T0, "first"))
        uow.park(ParkedEvent("e2b", "crn:X1", T0 + timedelta(minutes=1), "second-b"))
        uow.park(ParkedEvent("e2a", "crn:X1", T0 + timedelta(minutes=1), "second-a"))  # tie broken by event id
        uow.park(ParkedEvent("o1", "crn:X2", T0, "other key"))
        uow.commit()

    with db.uow() as uow:
        assert raws(uow.unpark("crn:X1")) == ["first", "second-a", "second-b", "third"]
        assert raws(uow.unpark("crn:X1")) == []
        assert raws(uow.unpark("crn:NOBODY")) == []
        uow.commit()

    assert [(r["event_id"], r["raw"]) for r in db.rows("parked_events")] == [("o1", "other key")]


def test_unpark_in_an_uncommitted_unit_of_work_leaves_the_events_parked(db):
    with db.uow() as uow:
        uow.park(ParkedEvent("e1", "crn:X1", T0, "first"))
        uow.commit()

    with db.uow() as uow:
        assert raws(uow.unpark("crn:X1")) == ["first"]

    with db.uow() as uow:
        assert raws(uow.unpark("crn:X1")) == ["first"]


def test_parking_the_same_event_id_twice_keeps_one_copy(db):
    with db.uow() as uow:
        uow.park(ParkedEvent("e1", "crn:X1", T0, "original"))
        uow.park(ParkedEvent("e1", "crn:X1", T0, "original"))
        uow.commit()
    with db.uow() as uow:
        uow.park(ParkedEvent("e1", "crn:X1", T0 + timedelta(hours=1), "again"))  # a redelivery in a later unit of work
        uow.commit()

    assert [(r["event_id"], r["raw"]) for r in db.rows("parked_events")] == [("e1", "original")]
    with db.uow() as uow:
        assert raws(uow.unpark("crn:X1")) == ["original"]


def test_expired_events_stay_dormant_no_longer_wait_and_unpark_still_returns_them(db):
    late = T0 + timedelta(hours=200)
    with db.uow() as uow:
        uow.park(ParkedEvent("e1", "crn:X1", T0, "first", parked_at=T0))
        uow.park(ParkedEvent("e2", "crn:X1", T0, "second", parked_at=T0 + timedelta(hours=2)))
        uow.commit()
    with db.uow() as uow:
        [expired] = uow.expire_parked(T0 + timedelta(hours=1), late)
        assert (expired.event_id, expired.raw, expired.expired_at) == ("e1", "first", late)
        assert uow.earliest_parked() == T0 + timedelta(hours=2)
        assert uow.expire_parked(T0 + timedelta(hours=1), late) == []  # expires once
        uow.commit()
    with db.uow() as uow:
        assert uow.earliest_parked() == T0 + timedelta(hours=2)
        assert [p.event_id for p in uow.expire_parked(T0 + timedelta(hours=3), late)] == ["e2"]
        assert uow.earliest_parked() is None
        uow.commit()
    assert [(r["event_id"], r["expired_at"]) for r in db.rows("parked_events")] == [("e1", late), ("e2", late)]
    with db.uow() as uow:
        assert [(p.raw, p.expired_at, p.parked_at) for p in uow.unpark("crn:X1")] == \
            [("first", late, None), ("second", late, None)]  # no wait left: one that must wait again starts anew
        uow.commit()
    assert db.rows("parked_events") == []


def test_readmit_forgets_an_expiry_committed_before_or_written_in_the_same_unit_of_work(db):
    expired = "parked event expired: waited 200 h for crn:X1, which never arrived"

    def letter(event_id: str, reason: str) -> DeadLetter:
        return DeadLetter("t", reason, f"raw {event_id}", line_number=1, event_id=event_id)

    with db.uow() as uow:
        uow.mark_processed("e1", "referral.created", T0, "EXPIRED")
        uow.dead_letter(letter("e1", expired), T0)
        uow.dead_letter(letter("e1", "conflicting duplicate of event e1"), T0)  # not its expiry: kept
        uow.mark_processed("e2", "referral.created", T0, "EXPIRED")
        uow.dead_letter(letter("e2", expired), T0)  # another event's expiry: kept
        uow.commit()
    with db.uow() as uow:
        uow.readmit("e1")
        uow.mark_processed("e1", "referral.created", T0, "APPLIED")
        uow.mark_processed("e3", "referral.created", T0, "EXPIRED")  # expired and re-admitted in one batch
        uow.dead_letter(letter("e3", expired), T0)
        uow.readmit("e3")
        uow.mark_processed("e3", "referral.created", T0, "APPLIED")
        uow.commit()
    assert {r["event_id"]: r["outcome"] for r in db.rows("processed_events")} == \
        {"e1": "APPLIED", "e2": "EXPIRED", "e3": "APPLIED"}
    assert [(d["event_id"], d["reason"][:20]) for d in db.dead_letters()] == \
        [("e1", "conflicting duplicat"), ("e2", "parked event expired")]


# outbox, dead letters, attendance ----------------------------------------------------------------

def test_emit_writes_outbox_rows_in_emission_order_with_unique_message_ids(db):
    messages = [(f"m{i}", "cohortplan.referrals" if i % 2 else "cohortplan.alerts", f"X00000{i}",
                 "referral.allocated", f'{{"n": {i}}}', T0 + timedelta(seconds=i)) for i in (3, 1, 2)]
    with db.uow() as uow:
        for message in messages:
            uow.emit(*message)
        uow.commit()
    with db.uow() as uow:
        uow.emit("m4", "cohortplan.alerts", "X000004", "alert.raised", "{}", T0)
        uow.commit()

    outbox, alerts = db.outbox(), db.outbox(topic="cohortplan.alerts")
    with db.uow() as uow:
        unsent = uow.unsent_outbox(10)
    assert [o["message_id"] for o in outbox] == ["m3", "m1", "m2", "m4"]
    assert unsent == [{k: o[k] for k in ("id", "message_id", "topic", "key", "event_type", "message")} for o in outbox]
    assert [o["message_id"] for o in alerts] == ["m2", "m4"]
    assert outbox[0] | {"id": None} == {"id": None, "message_id": "m3", "topic": "cohortplan.referrals",
                                         "key": "X000003", "event_type": "referral.allocated",
                                         "message": '{"n": 3}', "created_at": (T0 + timedelta(seconds=3)).isoformat(),
                                         "sent_at": None}
    assert len({o["id"] for o in outbox}) == 4


def test_emitting_a_message_id_twice_is_rejected_on_commit(db):
    with db.uow() as uow:
        uow.emit("m1", "topic", "k", "t.e", "{}", T0)
        uow.commit()

    with db.uow() as uow:
        uow.emit("m1", "topic", "k", "t.e", '{"again": true}', T0)
        with pytest.raises(db.integrity_error):
            uow.commit()

    assert [r["message"] for r in db.rows("outbox")] == ["{}"]


def test_outbox_ids_only_increase_even_after_a_rolled_back_emit(db):
    with db.uow() as uow:
        uow.emit("m1", "topic", "k", "t.e", "{}", T0)
        uow.commit()
    with db.uow() as uow:
        uow.emit("m2", "topic", "k", "t.e", "{}", T0)  # rolled back
    with db.uow() as uow:
        uow.emit("m3", "topic", "k", "t.e", "{}", T0)
        uow.commit()

    first, third = db.rows("outbox", order_by="id")
    assert (first["message_id"], third["message_id"]) == ("m1", "m3") and third["id"] > first["id"]


def test_the_relay_and_the_outbox_readers_read_in_id_order_and_only_the_relay_marks_rows_sent(db):
    with db.uow() as uow:
        for n, topic in enumerate(["a", "b", "a", "c"]):
            uow.emit(f"m{n}", topic, f"k{n}", "t.e", f'{{"n": {n}}}', T0)
        uow.commit()

    with db.uow() as uow:
        unsent = uow.unsent_outbox(10)
        ids = [r["id"] for r in unsent]
        assert [r["message_id"] for r in unsent] == ["m0", "m1", "m2", "m3"] and ids == sorted(set(ids))
        assert unsent[0] == {"id": ids[0], "message_id": "m0", "topic": "a", "key": "k0", "event_type": "t.e",
                             "message": '{"n": 0}'}
        assert [r["message_id"] for r in uow.unsent_outbox(2)] == ["m0", "m1"]
        uow.mark_sent(ids[:2], T0 + timedelta(minutes=1))
        uow.mark_sent([], T0)
        assert [r["message_id"] for r in uow.unsent_outbox(10)] == ["m2", "m3"]  # seen in the same transaction
        uow.commit()

    with db.uow() as uow:
        assert [r["message_id"] for r in uow.unsent_outbox(10)] == ["m2", "m3"]
        assert [r["message_id"] for r in uow.outbox_after(0, ["a", "c"], 10)] == ["m0", "m2", "m3"]  # sent or not
        assert uow.outbox_after(0, ["a", "c"], 10)[0] == unsent[0]
        assert [r["message_id"] for r in uow.outbox_after(ids[0], ("a",), 10)] == ["m2"]
        assert [r["message_id"] for r in uow.outbox_after(0, iter(["a", "b", "c"]), 1)] == ["m0"]
        assert uow.outbox_after(ids[-1], ["a", "b", "c"], 10) == []
        assert uow.outbox_after(0, [], 10) == []
        assert uow.outbox_after(0, ["nowhere"], 10) == []
    assert [(r["message_id"], r["sent_at"]) for r in db.rows("outbox", order_by="id")] == [
        ("m0", T0 + timedelta(minutes=1)), ("m1", T0 + timedelta(minutes=1)), ("m2", None), ("m3", None)]


def test_a_nul_in_a_dead_letter_is_kept_as_its_visible_escape(db):
    with db.uow() as uow:
        uow.dead_letter(DeadLetter("events.jsonl", "bad\x00 JSON", '{"a": "\x00"}', line_number=1), T0)
        uow.commit()
    [letter] = db.dead_letters()
    assert (letter["reason"], letter["raw"]) == ("bad\\u0000 JSON", '{"a": "\\u0000"}')


def test_dead_letters_keep_line_number_partition_offset_event_id_and_raw_text(db):
    raw_line = '{"event_id": "Ⅹ", "payload": \t"broken"\n  ,'
    big_offset = 2**40 + 7
    with db.uow() as uow:
        uow.dead_letter(DeadLetter("events/2025-03.jsonl", "invalid JSON", raw_line, line_number=17), T0)
        uow.dead_letter(DeadLetter("probation.referrals", "unknown event type", "{}", partition=3,
                                   offset=big_offset, event_id="8b1f2c1e-0000-4000-8000-000000000001"),
                        T0 + timedelta(seconds=1))
        uow.commit()

    letters, total = db.dead_letters(), db.dead_letter_count()
    assert total == 2
    assert [{k: v for k, v in letter.items() if k != "id"} for letter in letters] == [
        {"received_at": T0.isoformat(), "origin": "events/2025-03.jsonl", "line_number": 17, "partition": None,
         "offset": None, "event_id": None, "reason": "invalid JSON", "raw": raw_line},
        {"received_at": (T0 + timedelta(seconds=1)).isoformat(), "origin": "probation.referrals",
         "line_number": None, "partition": 3, "offset": big_offset,
         "event_id": "8b1f2c1e-0000-4000-8000-000000000001", "reason": "unknown event type", "raw": "{}"},
    ]


def test_recording_the_same_attendance_session_twice_returns_false(db):
    first = Attendance("R1", "C1", 1, date(2025, 5, 5), "ATTENDED")
    with db.uow() as uow:
        assert uow.record_attendance(first) is True
        assert uow.record_attendance(first) is False  # queued in this unit of work already
        assert uow.record_attendance(replace(first, outcome="ABSENT")) is False
        assert uow.record_attendance(Attendance("R1", "C1", 3, date(2025, 5, 19), "ABSENT")) is True
        assert uow.record_attendance(Attendance("R1", "C2", 1, date(2025, 5, 12), "ATTENDED")) is True
        uow.commit()

    with db.uow() as uow:
        assert uow.record_attendance(first) is False
        assert uow.record_attendance(Attendance("R1", "C1", 2, date(2025, 5, 12), "LATE")) is True
        recorded = uow.attendance_of(["R1"])  # includes the record queued in this unit of work
        assert [a.session_date for a in recorded] == sorted(a.session_date for a in recorded)
        assert set(recorded) == {first, Attendance("R1", "C1", 3, date(2025, 5, 19), "ABSENT"),
                                 Attendance("R1", "C2", 1, date(2025, 5, 12), "ATTENDED"),
                                 Attendance("R1", "C1", 2, date(2025, 5, 12), "LATE")}
        assert recorded[0] == first and recorded[-1].session_number == 3
        assert uow.attendance_of(["R_NONE"]) == []
        uow.commit()

    assert db.count("attendance") == 4


# planning: alerts, offices, plans, engine state ------------------------------------------------

def test_active_alerts_are_raised_updated_and_cleared(db):
    with db.uow() as uow:
        uow.raise_alert(an_alert("AT_RISK:referral:R1"))
        uow.raise_alert(an_alert("AT_RISK:referral:R2", subject_id="R2", act_by=None))
        uow.raise_alert(an_alert("AT_RISK:referral:R3", region_code="SW", subject_id="R3"))
        uow.raise_alert(an_alert("CAPACITY:office:OFF_A", kind="CAPACITY", subject_type="programme",
                                 subject_id="OFF_A"))
        assert sorted(uow.active_alerts("NE", ["AT_RISK"])) == ["AT_RISK:referral:R1", "AT_RISK:referral:R2"]
        uow.commit()

    with db.uow() as uow:
        active = uow.active_alerts("NE", ["AT_RISK"])
        assert active == {"AT_RISK:referral:R1": an_alert("AT_RISK:referral:R1"),
                          "AT_RISK:referral:R2": an_alert("AT_RISK:referral:R2", subject_id="R2", act_by=None)}
        uow.raise_alert(an_alert("AT_RISK:referral:R1", severity="CRITICAL"))  # raised again: one row, updated
        uow.clear_alert("AT_RISK:referral:R2")
        uow.clear_alert("AT_RISK:referral:NEVER")
        assert list(uow.active_alerts("NE", ["AT_RISK"])) == ["AT_RISK:referral:R1"]
        uow.commit()

    with db.uow() as uow:
        assert uow.active_alerts("NE", ["AT_RISK"]) == {
            "AT_RISK:referral:R1": an_alert("AT_RISK:referral:R1", severity="CRITICAL")}
        assert list(uow.active_alerts("SW", ["AT_RISK"])) == ["AT_RISK:referral:R3"]
        assert list(uow.active_alerts("NE", ["CAPACITY"])) == ["CAPACITY:office:OFF_A"]
        assert sorted(uow.active_alerts("NE")) == ["AT_RISK:referral:R1", "CAPACITY:office:OFF_A"]
        assert uow.active_alerts("AT_RISK", "NOWHERE") == {}
    assert db.count("active_alerts") == 3


def test_an_alerts_workflow_is_set_in_place_and_kept_by_a_rule_update(db):
    with db.uow() as uow:
        uow.raise_alert(an_alert("AT_RISK:referral:R1"))
        uow.set_alert_workflow("AT_RISK:referral:R1", "SNOOZED", "tm.user-3", date(2025, 3, 10))
        uow.set_alert_workflow("AT_RISK:referral:NEVER", "ACKNOWLEDGED", None, None)  # no row: nothing
        uow.commit()
    with db.uow() as uow:
        uow.raise_alert({k: v for k, v in an_alert("AT_RISK:referral:R1", severity="CRITICAL").items()
                         if k not in ("workflow_state", "assigned_to", "snoozed_until")})
        uow.commit()
    with db.uow() as uow:
        assert uow.active_alerts("NE") == {"AT_RISK:referral:R1": an_alert(
            "AT_RISK:referral:R1", severity="CRITICAL", workflow_state="SNOOZED", assigned_to="tm.user-3",
            snoozed_until=date(2025, 3, 10))}
    assert db.count("active_alerts") == 1


def test_alert_actions_are_appended_and_read_back_in_order_by_alert_id(db):
    def action(alert_id: str, name: str, **extra) -> dict:
        return dict(alert_id=alert_id, region_code="NE", action=name, actor="ops.user-1", at=T0, note=None,
                    assigned_to=None, snoozed_until=None, event_id=f"e-{name}") | extra
    with db.uow() as uow:
        uow.record_alert_action(action("AT_RISK:referral:R1", "acknowledge", note="seen"))
        uow.record_alert_action(action("AT_RISK:referral:R2", "resolve", note="done"))
        assert [a["action"] for a in uow.alert_actions("AT_RISK:referral:R1")] == ["acknowledge"]  # read own writes
        uow.record_alert_action(action("AT_RISK:referral:R1", "snooze", snoozed_until=date(2025, 3, 10)))
        uow.commit()
    with db.uow() as uow:
        uow.record_alert_action(action("AT_RISK:referral:R1", "resolve"))
        uow.rollback()
    with db.uow() as uow:
        rows = uow.alert_actions("AT_RISK:referral:R1")
        assert [{k: v for k, v in r.items() if k != "id"} for r in rows] == [
            action("AT_RISK:referral:R1", "acknowledge", note="seen"),
            action("AT_RISK:referral:R1", "snooze", snoozed_until=date(2025, 3, 10))]
        assert rows[0]["id"] < rows[1]["id"]
        assert uow.alert_actions("AT_RISK:referral:NEVER") == []
    assert db.count("alert_actions") == 3


def test_saved_offices_are_read_back_by_region_in_code_order_and_re_saving_updates(db):
    # Office.name_code is not stored (no column): offices here leave it at its default "".
    with db.uow() as uow:
        uow.save_offices("NE", [Office("OFF_B", "PDU_A", rooms=2), Office("OFF_A", "PDU_B", rooms=0, rural=True)])
        uow.save_offices("SW", [Office("OFF_S", "PDU_S", rooms=1)])
        uow.commit()
    with db.uow() as uow:
        uow.save_offices("NE", [Office("OFF_B", "PDU_A", rooms=3), Office("OFF_C", "PDU_A", rooms=1)])
        uow.commit()

    with db.uow() as uow:
        assert uow.offices("NE") == [Office("OFF_A", "PDU_B", rooms=0, rural=True), Office("OFF_B", "PDU_A", rooms=3),
                                     Office("OFF_C", "PDU_A", rooms=1)]
        assert uow.offices("SW") == [Office("OFF_S", "PDU_S", rooms=1)]
        assert uow.offices("NOWHERE") == []


def test_next_plan_version_increments_after_save_plan(db):
    with db.uow() as uow:
        assert uow.next_plan_version() == 1
        uow.save_plan(a_plan(1))
        assert uow.next_plan_version() == 2  # the queued plan counts before commit
        uow.commit()

    with db.uow() as uow:
        assert uow.next_plan_version() == 2
        uow.save_plan(a_plan(2, region_code="SW", objective={}))
        uow.commit()

    with db.uow() as uow:
        assert uow.next_plan_version() == 3
    stored = db.rows("plans", order_by="plan_version")
    assert [(p["plan_version"], p["region_code"]) for p in stored] == [(1, "NE"), (2, "SW")]
    assert stored[0]["objective"] == {"score": 12.5, "terms": {"wait": 3, "travel": [1, 2]}}
    assert stored[0]["as_of"] == date(2025, 3, 3)


def test_engine_state_is_read_back_and_upserted(db):
    with db.uow() as uow:
        assert uow.get_state("replay.cursor") is None
        uow.set_state("replay.cursor", "10")
        assert uow.get_state("replay.cursor") == "10"
        uow.set_state("replay.cursor", "11")
        uow.set_state("other", "x" * 5000)
        uow.commit()

    with db.uow() as uow:
        assert uow.get_state("replay.cursor") == "11"
        uow.set_state("replay.cursor", "12")
        uow.commit()

    with db.uow() as uow:
        assert uow.get_state("replay.cursor") == "12"
        assert uow.get_state("other") == "x" * 5000
    assert db.count("engine_state") == 2


def test_engine_states_are_found_by_a_literal_prefix_with_this_unit_of_works_own_values(db):
    with db.uow() as uow:
        for name, value in [("offset:t:0", "5"), ("offset:t:1", "7"), ("offsets", "x"), ("low_a", "1"),
                            ("lowXa", "2"), ("dirty:RS", "1")]:
            uow.set_state(name, value)
        assert uow.states("offset:") == {"offset:t:0": "5", "offset:t:1": "7"}
        uow.commit()

    with db.uow() as uow:
        assert uow.states("offset:") == {"offset:t:0": "5", "offset:t:1": "7"}
        assert uow.states("low_") == {"low_a": "1"}  # "_" is no wildcard
        assert uow.states("dirty:") == {"dirty:RS": "1"} and uow.states("nothing") == {}
        uow.set_state("offset:t:0", "6")
        uow.set_state("offset:t:2", "1")
        assert uow.states("offset:") == {"offset:t:0": "6", "offset:t:1": "7", "offset:t:2": "1"}
    with db.uow() as uow:
        assert uow.states("offset:") == {"offset:t:0": "5", "offset:t:1": "7"}


def test_a_prefix_finds_exactly_the_names_that_begin_with_it_byte_for_byte(db):
    """Around the edges of a prefix read from an index (SQLite reads a range, engine.persistence.tables): the
    prefix's own name, its last character's successor, another case, characters beyond ASCII, and LIKE's
    wildcards."""
    names = ["claims:", "claims:RS:C1", "claims:\u00e9", "claims:\U0010fffd", "claims;", "claims;RS", "claims9",
             "claims", "CLAIMS:RS", "Claims:x", "claimr:", "claims:%", "claims_x", "clock", "clock:1", "clocl"]
    with db.uow() as uow:
        for n, name in enumerate(names):
            uow.set_state(name, str(n))
        uow.commit()
    with db.uow() as uow:
        for prefix in ["claims:", "claims", "clock", "claims:%", "claims_", "c", "\u00e9"]:
            assert set(uow.states(prefix)) == {n for n in names if n.startswith(prefix)}, prefix


def test_write_locks_are_granted_to_a_single_unit_of_work(db):
    """One unit of work alone: locking writes and taking a named lock succeed (only PostgreSQL can refuse a
    named lock, to another transaction holding it; the in-memory store serves one process)."""
    with db.uow() as uow:
        uow.lock_writes()
        assert uow.try_lock("relay") is True
        uow.set_state("after-lock", "1")
        uow.commit()
    with db.uow() as uow:
        assert uow.get_state("after-lock") == "1"


# canonical export ----------------------------------------------------------------------------------

def test_canonical_state_renders_timestamps_the_same_way_on_every_backend(db):
    """Equal state must give an equal export whichever backend holds it (aware UTC ISO strings)."""
    with db.uow() as uow:
        uow.people.add(a_person(updated_at=T0))
        uow.mark_processed("e1", "referral.created", T0, "APPLIED")
        uow.raise_alert(an_alert())
        uow.commit()

    state = db.state()
    assert state["people"][0]["updated_at"] == "2025-03-03T09:30:15.123456+00:00"
    assert state["processed_events"][0]["occurred_at"] == "2025-03-03T09:30:15.123456+00:00"
    assert state["active_alerts"][0]["raised_at"] == "2025-03-03T09:30:15.123456+00:00"
    assert state["active_alerts"][0]["act_by"] == "2025-07-01"


def test_the_canonical_state_leaves_out_where_a_copy_came_from_and_its_text(db):
    with db.uow() as uow:
        uow.mark_processed("e1", "referral.created", T0, "APPLIED", "d1" * 32, "text as sent", T0)
        uow.park(a_parked_event())
        uow.commit()
    state = db.state()
    assert state["processed_events"] == [{"event_id": "e1", "event_type": "referral.created",
                                          "occurred_at": T0.isoformat(), "outcome": "APPLIED", "digest": "d1" * 32}]
    assert set(state["parked_events"][0]) == {"event_id", "waiting_for", "occurred_at", "raw", "event_type",
                                              "digest", "parked_at", "expired_at"}


# the alert sweep's reads ------------------------------------------------------------------------

def test_referral_facts_are_one_row_per_referral_with_deadline_inputs_and_status_since(db):
    with db.uow() as uow:
        uow.people.add(a_person())
        uow.people.add(a_person("X000002", region_code="SW"))
        uow.sentences.add(a_sentence())
        uow.requirements.add(a_requirement())
        uow.requirements.add(a_requirement("Q2"))
        uow.cohorts.add(a_cohort())
        placed = a_referral(moves=(S.AWAITING_ALLOCATION, S.SCHEDULED))
        placed.cohort_id = "C1"
        uow.referrals.add(placed)
        uow.referrals.add(a_referral("R2", requirement_id="Q2", moves=(S.AWAITING_ALLOCATION,)))
        uow.referrals.add(a_referral("R3", crn="X000002", moves=(S.AWAITING_ALLOCATION,)))
        uow.allocations.add(an_allocation())
        uow.commit()
    with db.uow() as uow:
        waiting = uow.referrals.get("R2")
        waiting.move_to(S.DEPRIORITISED, T0 + timedelta(days=3), "deprioritised")  # unflushed: must still be seen
        facts = {r["referral_id"]: r for r in uow.referral_facts("NE", ["SCHEDULED", "DEPRIORITISED"])}
    assert sorted(facts) == ["R1", "R2"]  # R3's person is in another region
    r1, r2 = facts["R1"], facts["R2"]
    assert (r1["crn"], r1["status"], r1["cohort_id"], r1["pdu_code"], r1["pinned"]) == (
        "X000001", "SCHEDULED", "C1", "PDU_A", True)
    assert (r1["requirement_end"], r1["sentence_end"]) == (date(2026, 6, 30), date(2027, 1, 5))
    assert r1["deadline"] == date(2026, 6, 30)  # the earlier of the two
    assert r1["status_since"] == T0 + timedelta(hours=1)
    assert r2["status"] == "DEPRIORITISED" and r2["status_since"] == T0 + timedelta(days=3) and r2["pinned"] is None


def test_attendance_of_many_and_dead_letters_since(db):
    with db.uow() as uow:
        for n, (referral, outcome) in enumerate([("R1", "UAAB"), ("R1", "ATTC"), ("R2", "UAAB"), ("R3", "UAAB")]):
            uow.record_attendance(Attendance(referral, "C1", n + 1, date(2025, 5, 5) + timedelta(days=n), outcome))
        uow.dead_letter(DeadLetter("probation.sentences.v1", "bad JSON", "{"), T0)
        uow.dead_letter(DeadLetter("probation.sentences.v1", "bad JSON", "{{"), T0 + timedelta(hours=2))
        uow.commit()
    with db.uow() as uow:
        unacceptable = uow.attendance_of(["R1", "R2"], outcomes=["UAAB"])
        assert [(a.referral_id, a.session_number) for a in unacceptable] == [("R1", 1), ("R2", 3)]
        assert len(uow.attendance_of(["R1"])) == 2
        assert uow.dead_letters_since(T0 + timedelta(hours=1)) == [(T0 + timedelta(hours=2), "probation.sentences.v1")]


# issue 12: content digests of processed events, parked events with their position and expiry --------

def test_a_parked_event_comes_back_with_its_position_digest_and_times_in_utc(db):
    parked = a_parked_event()
    with db.uow() as uow:
        uow.park(parked)
        uow.park(a_parked_event("e2", line_number=12, origin="events.jsonl", partition=None, offset=None))
        uow.commit()

    with db.uow() as uow:
        [back] = uow.unpark("requirement:Q1")[:1]
    assert back == parked and type(back) is ParkedEvent
    assert back.occurred_at.utcoffset() == back.parked_at.utcoffset() == timedelta(0)


def test_parking_without_a_parked_at_counts_the_wait_from_when_it_happened(db):
    with db.uow() as uow:
        uow.park(ParkedEvent("e1", "crn:X1", T0, "{}"))
        uow.commit()
    with db.uow() as uow:
        assert uow.earliest_parked() == T0
        [back] = uow.unpark("crn:X1")
    assert back.parked_at == T0 and back.origin is None and back.digest is None


def test_seen_copies_name_processed_queued_and_parked_copies_with_digest_text_and_time(db):
    with db.uow() as uow:
        uow.mark_processed("e1", "referral.created", T0, "APPLIED", "d1" * 32, "first text", T0)
        uow.mark_processed("e2", "referral.created", T0, "REJECTED")  # as an older version wrote it
        uow.park(a_parked_event("e3", "referral:R1"))
        uow.commit()

    with db.uow() as uow:
        uow.mark_processed("e4", "person.updated", T0, "STALE", "d4" * 32, "queued text", T0)
        seen = uow.seen_copies(iter(["e1", "e2", "e3", "e4", "e5", "e1"]))
        assert uow.seen_copies([]) == {}

    assert sorted(seen) == ["e1", "e2", "e3", "e4"]
    assert seen["e1"] == SeenCopy("e1", "APPLIED", "d1" * 32, "first text", T0)
    assert seen["e2"] == SeenCopy("e2", "REJECTED")
    assert seen["e3"] == SeenCopy("e3", "PARKED", "ab" * 32, '{"event_id": "e1"}', T0, "referral:R1")
    assert seen["e4"] == SeenCopy("e4", "STALE", "d4" * 32, "queued text", T0)


def test_expire_parked_takes_the_events_parked_before_an_instant_oldest_first(db):
    day = timedelta(days=1)
    clock = T0 + 9 * day
    with db.uow() as uow:
        assert uow.earliest_parked() is None and uow.expire_parked(T0, clock) == []
        uow.park(a_parked_event("late", "k:1", parked_at=T0 + 2 * day))
        uow.park(a_parked_event("old", "k:2", parked_at=T0))
        uow.park(a_parked_event("mid", "k:1", parked_at=T0 + day))
        assert uow.earliest_parked() == T0
        uow.commit()

    with db.uow() as uow:
        assert [p.event_id for p in uow.expire_parked(T0 + 2 * day, clock)] == ["old", "mid"]
        assert uow.expire_parked(T0 + 2 * day, clock) == []
        assert uow.earliest_parked() == T0 + 2 * day
        uow.commit()
    assert sorted((r["event_id"], r["expired_at"]) for r in db.rows("parked_events")) == \
        [("late", None), ("mid", clock), ("old", clock)]  # the expired ones dormant


def test_dead_letters_since_name_conflicting_duplicates_and_expired_parked_events(db):
    with db.uow() as uow:
        uow.dead_letter(DeadLetter("probation.sentences.v1", "bad JSON: x", "{"), T0)
        uow.dead_letter(DeadLetter("probation.sentences.v1", "conflicting duplicate of event e1 (first seen …)",
                                   "{}"), T0)
        uow.dead_letter(DeadLetter("events.jsonl", "parked event expired: waited 170 h for crn:X1, …", "{}"), T0)
        uow.commit()
    with db.uow() as uow:
        assert [origin for _, origin in uow.dead_letters_since(T0)] == [
            "probation.sentences.v1", "probation.sentences.v1 (conflicting duplicate)",
            "events.jsonl (parked event expired)"]


def test_people_naming_a_crn_are_found_stored_and_unwritten_but_not_by_a_prefix(db):
    """A merge finds who names the source crn without loading every person (issue 12, class 3)."""
    with db.uow() as uow:
        uow.people.add(a_person("X000001", non_associations=frozenset({"X000009"})))
        uow.people.add(a_person("X000002", non_associations=frozenset({"X0000091", "X000007"})))
        uow.people.add(a_person("X000003", non_associations=frozenset()))
        uow.commit()
    with db.uow() as uow:
        uow.people.add(a_person("X000004", non_associations=frozenset({"X000009"})))  # not written yet
        uow.people.get("X000001").non_associations = frozenset({"X000009", "X000005"})
        assert [p.crn for p in uow.people_naming("X000009")] == ["X000001", "X000004"]
        assert [p.crn for p in uow.people_naming("X000007")] == ["X000002"]
        assert uow.people_naming("X000003") == []
