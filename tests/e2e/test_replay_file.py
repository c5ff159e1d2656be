"""A generated region replayed from a file: idempotent, order-insensitive, and robust to garbage."""
from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from engine.alerts.sweep import AlertSweep
from engine.domain.rules import EngineRules
from engine.persistence.database import Database, queries
from engine.services.ingest import Ingestor, RawEvent
from engine.services.planning import Planner
from engine.services.replay import Replay, read_lines
from simulator import GeneratorParams, generate
from solver.baselines import CurrentPracticeAllocator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def region_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("region") / "events.jsonl"
    generate(GeneratorParams(weeks=30, seed=11, scale=0.4), path)
    return path


def replay(url: str, events: list[RawEvent]):
    db = Database(url)
    rules = EngineRules()
    with db.uow() as uow:  # offices of the default region, as the CLI loads them
        from engine.domain.regions import load_region
        region = load_region("default")
        uow.save_offices(region.region_code, region.offices)
        uow.commit()
    runner = Replay(Ingestor(db.uow, rules), Planner(db.uow, CurrentPracticeAllocator(), rules),
                    timedelta(days=7), batch_size=500)
    return db, runner.run(events)


def state(db: Database) -> dict:
    q = queries(db)
    try:
        return q.canonical_state()
    finally:
        q.close()


def test_a_replay_raises_a_stable_set_of_alerts_and_a_second_sweep_adds_none(region_file, tmp_path):
    events = list(read_lines(region_file))
    db, summary = replay(f"sqlite:///{tmp_path}/alerts.db", events)
    q = queries(db)
    published = q.outbox("programmes.alerts.v1")
    raised = [json.loads(m["message"])["payload"] for m in published if m["event_type"] == "alert.raised"]
    assert len({p["kind"] for p in raised}) >= 3, "a generated region raises several kinds of alert"
    # The same file into a fresh database: the same alerts, message for message.
    other, _ = replay(f"sqlite:///{tmp_path}/again.db", events)
    assert [m["message_id"] for m in queries(other).outbox("programmes.alerts.v1")] == \
        [m["message_id"] for m in published]
    # Events after the last plan may have changed things: one sweep catches up, the next finds nothing.
    last = summary.plans[-1]
    at = datetime.combine(last.as_of, time(6), tzinfo=timezone.utc)
    sweeps = []
    for _ in range(2):
        with db.uow() as uow:
            sweeps.append(AlertSweep(EngineRules()).run(uow, last.region_code, last.as_of, at))
            uow.commit()
        sweeps.append(len(queries(db).outbox("programmes.alerts.v1")))
    assert (sweeps[2].raised, sweeps[2].updated, sweeps[2].cleared) == (0, 0, 0) and sweeps[3] == sweeps[1]
    published = queries(db).outbox("programmes.alerts.v1")
    open_now = q.open_alerts(last.region_code)
    assert all(a["alert_id"] == f"{a['kind']}:{a['subject_type']}:{a['subject_id']}" for a in open_now)
    assert sorted(a["subject_id"] for a in open_now if a["kind"] == "deadline.at_risk") == \
        sorted(sweeps[2].open["deadline.at_risk"])
    # Every alert raised was cleared before it was raised again, and is open now if not cleared last.
    history: dict[str, list[str]] = defaultdict(list)
    for m in published:
        history[json.loads(m["message"])["payload"]["alert_id"]].append(m["event_type"])
    still_open = {a["alert_id"] for a in q.open_alerts()}
    for alert_id, types in history.items():
        changes = [t for t in types if t != "alert.updated"]
        assert changes[::2] == ["alert.raised"] * len(changes[::2]), (alert_id, types)
        assert changes[1::2] == ["alert.cleared"] * len(changes[1::2]), (alert_id, types)
        assert (changes[-1] == "alert.raised") == (alert_id in still_open), (alert_id, types)


def test_replaying_the_file_twice_changes_nothing(region_file, tmp_path):
    events = list(read_lines(region_file))
    db, first = replay(f"sqlite:///{tmp_path}/once.db", events)
    before = state(db)
    _, second = replay(f"sqlite:///{tmp_path}/once.db", events)
    assert first.ingest.applied > 1000 and first.plans
    assert second.ingest.applied == 0 and second.ingest.duplicates == len(events) - first.ingest.dead_lettered
    assert not second.plans
    assert state(db) == before


def test_duplicated_and_shuffled_within_each_key_gives_the_same_state(region_file, tmp_path):
    events = list(read_lines(region_file))
    clean_db, clean = replay(f"sqlite:///{tmp_path}/clean.db", events)
    by_key = defaultdict(list)
    for item in events:
        by_key[json.loads(item.raw)["key"]].append(item.raw)
    rng = random.Random(3)
    messy = []
    for key in sorted(by_key):
        lines = by_key[key] * 2
        rng.shuffle(lines)
        messy.extend(lines)
    rng.shuffle(messy)
    messy_db, result = replay(f"sqlite:///{tmp_path}/messy.db", [RawEvent(r, "messy", n) for n, r in
                                                                  enumerate(messy, 1)])
    assert result.ingest.duplicates >= len(events)
    assert clean.ingest.dead_lettered == result.ingest.dead_lettered == 0
    assert state(messy_db) == state(clean_db)


GARBAGE = [
    "{this is not json",
    json.dumps({"event_type": "person.updated", "payload": {}}),  # envelope fields missing
    json.dumps({"event_id": "a8f5f167-f44f-4964-a6c6-1b2c3d4e5f60", "event_type": "referral.teleported",
                "schema_version": 1, "occurred_at": "2025-01-01T00:00:00Z", "source": "x", "key": "X1",
                "payload": {}}),  # unknown type
    json.dumps({"event_id": "b8f5f167-f44f-4964-a6c6-1b2c3d4e5f61", "event_type": "sentence.imposed",
                "schema_version": 1, "occurred_at": "2025-01-01T00:00:00Z", "source": "x", "key": "X1",
                "payload": {"crn": "X1", "sentence_id": "S", "sentence_type": "COMMUNITY_ORDER",
                            "start_date": 20250101, "expected_end_date": ["soon"]}}),  # wrong types
    json.dumps({"event_id": "c8f5f167-f44f-4964-a6c6-1b2c3d4e5f62", "event_type": "referral.created",
                "schema_version": 1, "occurred_at": "2025-01-01T00:00:00Z", "source": "x", "key": "X1",
                "payload": {"crn": "X1"}}),  # missing payload fields
    "[1, 2, 3]",
]


def test_garbage_lines_are_dead_lettered_with_line_numbers_and_every_valid_event_is_applied(region_file, tmp_path):
    valid = region_file.read_text().splitlines()
    clean_db, clean = replay(f"sqlite:///{tmp_path}/clean.db", list(read_lines(region_file)))
    mixed, garbage_lines = [], {}
    rng = random.Random(5)
    for line in valid:
        mixed.append(line)
        if rng.random() < 0.01:
            bad = GARBAGE[len(garbage_lines) % len(GARBAGE)]
            mixed.append(bad)
            garbage_lines[len(mixed)] = bad
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(mixed) + "\n")
    db, result = replay(f"sqlite:///{tmp_path}/mixed.db", list(read_lines(path)))
    assert len(garbage_lines) >= len(GARBAGE)
    assert result.ingest.applied == clean.ingest.applied
    letters = queries(db).dead_letters(10_000)
    assert {d["line_number"]: d["raw"] for d in letters} == garbage_lines
    assert all(d["reason"] for d in letters)
    # The only difference the garbage makes: ops staff are told that many events were rejected.
    mixed_state, alerts = without_dead_letter_alerts(state(db))
    [alert] = alerts["active_alerts"]
    assert len(letters) > alert["numbers"]["over_threshold_times"] * alert["numbers"]["threshold"]
    kinds = [json.loads(m["message"])["event_type"] for m in alerts["outbox"]]
    assert kinds[0] == "alert.raised" and set(kinds[1:]) <= {"alert.updated"} and len(kinds) <= 4
    assert mixed_state == without_dead_letter_alerts(state(clean_db))[0]


def without_dead_letter_alerts(canonical: dict) -> tuple[dict, dict]:
    """The state without the alert about rejected events (and that alert's rows, separately)."""
    def about_dead_letters(row: dict) -> bool:
        return ("events.dead_lettered:" in row.get("alert_id", "") or "events.dead_lettered:" in row.get("message", "")
                or row.get("name") == "alert_sweeps:*")  # the count of sweeps of alerts about no region
    kept = {name: [r for r in rows if not about_dead_letters(r)] for name, rows in canonical.items()}
    return kept, {name: [r for r in canonical[name] if about_dead_letters(r)] for name in ("active_alerts", "outbox")}
