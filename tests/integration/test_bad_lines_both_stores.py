"""Issue 18, class 5: one bad line never stops a replay, and SQLite and PostgreSQL give the same dead
letters for the same file, reason by reason — a NUL byte included (PostgreSQL text cannot hold one)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from engine.domain.rules import EngineRules
from engine.persistence.database import Database, queries
from engine.services.ingest import Ingestor
from engine.services.replay import Replay, read_lines
from tests.support.events import T0, event, person_with_referral

pytestmark = pytest.mark.postgres
CONFLICT_ID = "0b5d7c1e-2222-4aaa-8bbb-000000000002"


def bad_file(path):
    good = person_with_referral("X000001") + person_with_referral("X000002")
    nul_in_string = event("sentence.amended", T0 + timedelta(days=1), crn="X000001", sentence_id="S-X000001",
                          expected_end_date="2027-01-01", reason="typed\u0000late")
    lines = [
        *good,
        nul_in_string,                                                    # escaped NUL inside a JSON string
        '{"event_id": "x",\x00 "event_type": "person.updated"}',          # a literal NUL byte: not JSON
        event("person.updated", datetime(2099, 1, 1, tzinfo=timezone.utc), crn="X000001", ldc=True),
        event("person.updated", T0 + timedelta(days=2), key="X000009", crn="X000002", ldc=True),
        event("person.updated", T0 + timedelta(days=2), crn="X000002", region_code="ZZ"),
        event("person.updated", T0 + timedelta(days=2), crn="X000002", ldc="yes"),
        event("person.updated", T0 + timedelta(days=3), crn="X000002", interpreter_needed=True, event_id=CONFLICT_ID),
        event("person.updated", T0 + timedelta(days=3), crn="X000002", interpreter_needed=False, event_id=CONFLICT_ID),
        json.dumps({**json.loads(event("person.updated", T0 + timedelta(days=4), crn="X000002")), "source": "s" * 100_000}),
        "not json at all",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def letters(url: str, path) -> tuple[list[tuple], object]:
    db = Database(url)
    summary = Replay(Ingestor(db.uow, EngineRules()), batch_size=4).run(read_lines(path))
    q = queries(db)
    try:
        rows = q.dead_letters(100)
    finally:
        q.close()
    # The server clock is the one difference between runs: when the conflict's first copy was seen, and the
    # wall clock the 2099 message is measured against (two runs may straddle a second).
    return sorted((r["line_number"], _without_wall_clock(r["reason"]), r["raw"][:200]) for r in rows), summary


def _without_wall_clock(reason: str) -> str:
    reason = re.sub(r"first seen [^,]+,", "first seen …,", reason)
    return re.sub(r"wall clock \d{4}-\d\d-\d\dT[\d:]+Z", "wall clock …", reason)


def test_the_same_bad_file_gives_the_same_dead_letters_on_sqlite_and_postgresql(tmp_path, postgres_server):
    path = bad_file(tmp_path / "bad.jsonl")
    on_sqlite, s1 = letters(f"sqlite:///{tmp_path}/bad.db", path)
    on_postgres, s2 = letters(postgres_server.create_database("t_bad_lines"), path)
    assert on_sqlite == on_postgres
    assert len(on_sqlite) == 9 and s1.ingest.applied == s2.ingest.applied == 11  # 10 good lines and the first copy of the conflict
    reasons = " | ".join(reason for _, reason, _ in on_postgres)
    for expected in ("control characters", "bad JSON", "2099-01-01", "key 'X000009'", "region_code 'ZZ'",
                     "valid boolean", "conflicting duplicate", "source"):
        assert expected in reasons, expected
    nul_line = next(raw for line, _, raw in on_postgres if line == 12)
    assert "\\u0000" in nul_line  # stored as a visible escape, the line kept
