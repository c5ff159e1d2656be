"""The planner overrides' rows, on every store (in memory, SQLite, PostgreSQL): the unit of work's contract
for ``add_override``, ``remove_override`` and ``overrides`` (tests/contract/test_unit_of_work.py has the rest)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support.aggregates import T0


@pytest.fixture
def db(store):
    return store


def an_override(number: int, region: str = "NE", **extra) -> dict:
    return dict(override_id=f"ov-{number:06d}", region_code=region, kind="keep", referral_id="R1", cohort_id="C1",
                until=None, reason="agreed with the treatment manager", created_by="planner.user-1", created_at=T0,
                event_id=f"e-{number}", removed_by=None, removed_at=None) | extra


def test_overrides_are_stored_read_back_by_region_in_id_order_and_removed_in_place(db):
    with db.uow() as uow:
        uow.add_override(an_override(2, kind="hold", cohort_id=None, until=date(2025, 3, 10)))
        uow.add_override(an_override(1))
        uow.add_override(an_override(3, region="SW"))
        assert [o["override_id"] for o in uow.overrides("NE")] == ["ov-000001", "ov-000002"]  # read own writes
        uow.commit()
    with db.uow() as uow:
        uow.remove_override("ov-000001", "planner.user-2", T0 + timedelta(hours=1))
        uow.remove_override("ov-999999", "planner.user-2", T0)  # unknown: nothing
        uow.commit()
    with db.uow() as uow:
        assert uow.overrides("NE") == [an_override(2, kind="hold", cohort_id=None, until=date(2025, 3, 10))]
        assert uow.overrides("NE", removed=True)[0] == an_override(1, removed_by="planner.user-2",
                                                                   removed_at=T0 + timedelta(hours=1))
        assert [o["override_id"] for o in uow.overrides(None, removed=True)] == ["ov-000001", "ov-000002",
                                                                                 "ov-000003"]
        assert uow.overrides("NOWHERE") == []
    assert db.count("planner_overrides") == 3


def test_an_override_added_in_a_unit_of_work_that_rolls_back_is_not_kept(db):
    with db.uow() as uow:
        uow.add_override(an_override(1))
        uow.rollback()
    with db.uow() as uow:
        assert uow.overrides(None, removed=True) == []
