"""The SQL unit of work's fast paths give the answers of the slow ones they replace (issue 16 §2).

- ``where`` on a key or an indexed column looks only at the held keys the index names: the same entities, in
  the same order, as a scan of every held entity would find, changes made in the unit of work included;
- a ``UtcDateTime`` value is bound on SQLite with one C call: the same text SQLAlchemy's own processor stores.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.domain.model import Person
from engine.persistence import mappers as m
from engine.persistence import tables as t
from engine.persistence.identity_map import IdentityMap
from engine.persistence.repository import SqlRepository, _sqlite_utc_text
from engine.persistence.tables import UtcDateTime


@pytest.mark.parametrize("value", [
    None,
    datetime(2025, 3, 3, 9, 30),
    datetime(2025, 3, 3, 9, 30, tzinfo=timezone.utc),
    datetime(2025, 3, 3, 9, 30, 0, 12, tzinfo=timezone.utc),
    datetime(2025, 3, 3, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2025, 3, 31, 0, 15, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1, 1, 1, 0, 0),
    datetime(999, 12, 31, 23, 59, 59, 5),
])
def test_utc_datetimes_are_bound_on_sqlite_as_sqlalchemy_binds_them(value):
    from sqlalchemy.dialects import sqlite
    sqlalchemy_binds = UtcDateTime()._cached_bind_processor(sqlite.dialect())
    assert _sqlite_utc_text(value) == sqlalchemy_binds(value)


def _scan(repo, **equals):
    """What ``where`` answered before the fast paths: every held entity filtered by its values now."""
    wanted = IdentityMap._wanted(equals)
    return IdentityMap._matching(list(repo._seen.values()), wanted) if wanted is not None else []


class _EmptyStore:
    """A session whose database holds nothing (the unit layer runs without one): every entity is added here."""

    def connection(self):
        return self

    def execute(self, *args):
        return self

    def keys(self):
        return ()

    def __iter__(self):
        return iter(())


def test_where_on_keys_and_indexes_answers_as_a_scan_of_the_identity_map():
    people = SqlRepository(_EmptyStore(), t.PersonRow, "crn", m.person_to_row, m.person_from_row,
                           indexed=("merged_into",))
    for n in range(12):
        people.add(Person(crn=f"X{n:06d}", region_code="RS", merged_into="X000000" if n % 3 == 0 else None))
    people.add(Person(crn="X000099", region_code="RS", merged_into="X000001"))
    moved = people.get("X000006")
    moved.merged_into = "X000001"
    people.add(moved)  # as case.merged does: re-indexed under the crn it is merged into now
    people.remove("X000003")
    people.add(Person(crn="X000003", region_code="RS", merged_into="X000001"))  # back, now last in the map
    for equals in ({"merged_into": "X000000"}, {"merged_into": "X000001"}, {"merged_into": ["X000000", "X000001"]},
                   {"crn": ["X000011", "X000002", "X000099", "X000003", "X000404"]}, {"crn": "X000005"},
                   {"crn": ["X000009", "X000006", "X000003"], "merged_into": "X000001"}, {"merged_into": []},
                   {"region_code": "RS"}):
        assert people.where(**equals) == _scan(people, **equals), equals
    assert [p.crn for p in people.where(merged_into="X000001")] == ["X000006", "X000099", "X000003"]
    assert [p.crn for p in people.where(merged_into="X000000")] == ["X000000", "X000009"]
