"""Alerts leave only through the outbox: each sink's reader has its own committed cursor, sends at least
once with the event id as idempotency key, and loses nothing when the receiver fails or the reader dies.

Real components: SQLite and PostgreSQL, a real HTTP receiver on 127.0.0.1, and (for the kill) the real
``cohortplan deliver --follow`` process, SIGKILLed mid-batch and started again.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from engine import state_keys as keys
from engine.alerts.sinks import AlertSinkSettings, JsonlSink, OutboxReader, OutboxReaders, WebhookSink
from engine.alerts.sinks.port import AlertSink, SinkStats
from engine.alerts.sinks.readers import ALERTS_TOPIC
from engine.events import outbound as o
from engine.outbox import emit, stable_id
from engine.persistence.database import Database
from tests.support.polling import wait_until
from tests.support.webhook import IdempotentReceiver

AT = datetime(2025, 3, 3, 6, tzinfo=timezone.utc)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def decide_alerts(db: Database, n: int, start: int = 0) -> list[str]:
    """Write ``n`` alerts to the outbox the way a sweep does, between allocation events the alert readers
    must pass over; returns the alert event ids in outbox order."""
    ids = []
    with db.uow() as uow:
        for i in range(start, start + n):
            referral = f"REF-{i:06d}"
            message_id = stable_id("test-alert", i)
            emit(uow, "alert.raised", referral, o.AlertRaised(
                alert_id=f"deadline.at_risk:referral:{referral}", kind="deadline.at_risk", severity="CRITICAL",
                subject_type="referral", subject_id=referral, reason="NO_COHORT_BEFORE_DEADLINE",
                region_code="RS"), AT + timedelta(minutes=i), message_id)
            ids.append(str(message_id))
            emit(uow, "allocation.removed", f"X{i:06d}", o.AllocationRemoved(
                referral_id=referral, crn=f"X{i:06d}", previous_cohort_id="C1", reason="test",
                plan_version=0), AT + timedelta(minutes=i), stable_id("test-allocation", i))
        uow.commit()
    return ids


def fast(**overrides) -> AlertSinkSettings:
    return AlertSinkSettings(**{**dict(jsonl_path="", retry_attempts=2, backoff_initial_s=0.001,
                                      backoff_max_s=0.005), **overrides})


def test_each_reader_keeps_its_own_cursor_and_a_down_receiver_holds_back_only_its_own_sink(db, tmp_path):
    ids = decide_alerts(db, 5)
    receiver = IdempotentReceiver(fail_first=2)  # 2 attempts per round: the first round stops at once
    url = receiver.start()
    try:
        path = tmp_path / "alerts.jsonl"
        readers = OutboxReaders.configured(fast(jsonl_path=str(path), webhook_url=url), db.uow)
        first = readers.drain()
        assert (first["jsonl"].delivered, first["jsonl"].waiting) == (5, False)
        assert (first["webhook"].delivered, first["webhook"].waiting) == (0, True)
        assert receiver.count() == 0
        second = readers.drain()
        assert second["webhook"].delivered == 5 and second["jsonl"].delivered == 0  # nothing new for the file
        assert set(receiver.accepted) == set(ids) and receiver.resent == 0
        assert [json.loads(line)["event_id"] for line in path.read_text().splitlines()] == ids

        later = decide_alerts(db, 2, start=5)
        third = readers.drain()
        assert {name: d.delivered for name, d in third.items()} == {"jsonl": 2, "webhook": 2}
        assert list(receiver.accepted) == ids + later
        with db.uow() as uow:
            cursors = {name: int(uow.get_state(keys.OUTBOX_CURSOR.key(name))) for name in ("jsonl", "webhook")}
            alert_rows = uow.outbox_after(0, [ALERTS_TOPIC], 1000)
        assert len(alert_rows) == 7 and cursors == {"jsonl": alert_rows[-1]["id"], "webhook": alert_rows[-1]["id"]}
        readers.close()
    finally:
        receiver.stop()


class Exploding(AlertSink):
    name = "exploding"

    def __init__(self) -> None:
        self.stats = SinkStats()

    def send(self, messages: list[dict]) -> int:
        raise RuntimeError("boom")


def test_a_sink_that_raises_keeps_its_cursor_and_never_stops_the_others(db, tmp_path, caplog):
    decide_alerts(db, 3)
    jsonl = OutboxReader(JsonlSink(tmp_path / "a.jsonl"), db.uow)
    readers = OutboxReaders([OutboxReader(Exploding(), db.uow), jsonl])
    drained = readers.drain()
    assert drained["exploding"].waiting and drained["jsonl"].delivered == 3
    assert OutboxReader(Exploding(), db.uow).cursor() == 0 and jsonl.cursor() > 0
    assert "outbox reader for exploding failed" in caplog.text


def test_an_alert_refused_for_good_is_passed_over_and_the_rest_arrive(db):
    ids = decide_alerts(db, 3)

    class RefusingFirst(IdempotentReceiver):
        def answer(self, key, body):
            if key == ids[0]:
                return 422
            return super().answer(key, body)

    receiver = RefusingFirst()
    url = receiver.start()
    try:
        reader = OutboxReader(WebhookSink(url), db.uow)
        assert reader.drain().delivered == 3
        assert list(receiver.accepted) == ids[1:] and reader.sink.stats.failed == 1
    finally:
        receiver.stop()


def _deliver(database_url: str, url: str, tmp_path) -> subprocess.Popen:
    env = {**os.environ, "COHORTPLAN_DATABASE_URL": database_url, "COHORTPLAN_ALERT_WEBHOOK_URL": url,
           "COHORTPLAN_ALERT_JSONL_PATH": "", "COHORTPLAN_ALERT_BACKOFF_INITIAL_S": "0.01",
           "COHORTPLAN_ALERT_BACKOFF_MAX_S": "0.05", "COHORTPLAN_ALERT_RETRY_ATTEMPTS": "2",
           "COHORTPLAN_ALERT_READER_BATCH": "40", "COHORTPLAN_ALERT_READER_INTERVAL_S": "0.1",
           "COHORTPLAN_OUTPUT_DIR": str(tmp_path / "out")}
    return subprocess.Popen([sys.executable, "-m", "cohortplan_cli", "deliver", "--follow"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "deliver.log", "ab"))


def test_the_sink_process_killed_mid_batch_and_restarted_delivers_every_alert_once(db, database_url, tmp_path):
    n = 200
    ids = decide_alerts(db, n)
    receiver = IdempotentReceiver(fail_first=5, hold_after=n // 3)  # 66: inside the second batch of 40
    url = receiver.start()
    process = _deliver(database_url, url, tmp_path)
    try:
        wait_until(receiver.holding.is_set, timeout=120, message=lambda: (tmp_path / "deliver.log").read_text())
        process.send_signal(signal.SIGKILL)  # a request in flight, its batch's cursor not committed
        process.wait(30)
        assert receiver.count() == n // 3
        receiver.release.set()
        process = _deliver(database_url, url, tmp_path)
        wait_until(lambda: receiver.count() == n, timeout=180,
                   message=lambda: (tmp_path / "deliver.log").read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        receiver.stop()
    assert set(receiver.accepted) == set(ids)                       # none lost
    assert receiver.missing_key == 0                                # every request carried its event id
    assert all(receiver.accepted[i]["event_id"] == i for i in ids)  # the key is the event id
    # Re-sent on restart (at least once): the part of the batch in flight when the process died, no more.
    assert 0 < receiver.resent <= 40
