"""What a read request asks the database before its answer: the state version in one statement, and the
limited-access rules only when their mark moved (api/reads.py, engine/state_keys.py ``access``)."""
from __future__ import annotations

from datetime import datetime, timezone

from api.reads import Reader
from engine.persistence.held import HeldQueries
from engine.services.ingest import RawEvent
from tests.api.test_limited_access import rule


def test_the_rules_are_read_again_only_when_their_mark_moved(engine_copy, monkeypatch):
    reads = []
    real = HeldQueries.limited_access
    monkeypatch.setattr(HeldQueries, "limited_access", lambda q: reads.append(1) or real(q))
    reader = Reader(engine_copy, 0)
    with reader.queries() as q:
        crn = q.waitlist()[0]["crn"]

    first, rules = reader.version_and_access()
    assert reader.version_and_access() == (first, rules) and len(reads) == 1 and crn not in rules
    engine_copy.ingestor.process([RawEvent(rule(crn, datetime.now(timezone.utc), restrictions=["pp.a-1"]),
                                           "test", 1)])
    moved, rules = reader.version_and_access()
    assert moved != first and len(reads) == 2 and rules[crn].restrictions == frozenset({"pp.a-1"})
    assert reader.version_and_access()[1] is rules and len(reads) == 2
