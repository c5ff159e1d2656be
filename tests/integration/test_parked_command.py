"""The ``parked`` command on a SQLite file: what waits for what, since when and where it came from (issue 12,
class 6). The parking and expiry rules themselves are unit tests (tests/unit/engine/test_parked_expiry.py)."""
from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from engine.cli import app
from engine.persistence.database import queries
from tests.support.events import T0, event, person_with_referral
from tests.support.stores import SqlTestStore
from tests.unit.engine.harness import Harness


def tick(at, crn: str = "X000099") -> str:
    """An unrelated event that moves the event clock to ``at``."""
    return event("person.updated", at, crn=crn, region_code="RS", pdu_code="RS-P01")


def test_the_parked_command_lists_what_waits_for_what_and_where_it_came_from(sqlite_url):
    h = Harness(SqlTestStore(sqlite_url, "sqlite"))
    referral = person_with_referral("X000001")[3]
    h.feed(tick(T0), referral)
    h.feed(tick(T0 + timedelta(days=5)))  # the referral waits from T0 + 3 days
    q = queries(h.db.db)
    try:
        [row] = q.parked()
    finally:
        q.close()
    assert (row["event_type"], row["waiting_for"], row["origin"], row["line_number"]) == (
        "referral.created", "requirement:RQ-X000001", "test", 2)
    assert row["event_id"] == json.loads(referral)["event_id"] and row["waited_hours"] == 48

    result = CliRunner().invoke(app, ["parked", "--database-url", sqlite_url], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for text in ("1 parked events", "168 h", row["event_id"], "referral.created", "requirement:RQ-X000001", "48 h"):
        assert text in result.output
