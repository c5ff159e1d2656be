"""Unit suites of the engine re-run on the SQL stores (SQLite, PostgreSQL), the way they ran before the unit
layer moved to the in-memory store: the handler, safety-rule and delivery-fact suites, the broker positions,
parked-event expiry and conflicting duplicates on both databases. The tests are the unit tests themselves
(imported); only ``store`` differs."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import SQL_STORES, open_store
from tests.support.stores import SqlTestStore


@pytest.fixture(params=SQL_STORES)
def store(request, tmp_path) -> Iterator[SqlTestStore]:
    with open_store(request.param, request, tmp_path) as opened:
        yield opened
