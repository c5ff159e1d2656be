"""Fault scenarios 3, 4 and 6 of issue 16 §1: something the worker depends on is down for a while, and comes
back on the same address with its data; nobody touches the worker.

3. The Kafka broker stops (controlled shutdown) while the worker applies the stream and starts again on the
   same port and data dir → the same worker process recovers, its lag drains to 0, and the state is the
   clean embedded replay's.
4. The worker runs on PostgreSQL (durable settings), which stops (immediate: connections cut, recovery on start)
   after the first half of the stream is applied; the second half arrives while it is down; it starts again
   → the worker retries, nothing is lost or dead-lettered, same state.
6. The webhook receiver (an idempotent one, tests/support/webhook.py) is down from the worker's start until
   ``COHORTPLAN_FAULTS_WEBHOOK_DOWN_S`` later (20 s in the suite; "several minutes" by hand: 300) → every
   alert in the outbox arrives once it is back, each id accepted once.

An outage lasts at least its setting (``COHORTPLAN_FAULTS_BROKER_DOWN_S``, ``…_DATABASE_DOWN_S``,
``…_WEBHOOK_DOWN_S``) and until the worker's log shows it noticed. In 3 and 4 the worker's quiet period
(``COHORTPLAN_FAULTS_BROKER_QUIET_S``, by default twice the broker's first start plus the outage and 10 s, at
least 40 s; ``…_DATABASE_QUIET_S``, 25 s) outlasts the outage and the recovery,
so it plans once, after the whole stream, as the reference does (a plan on the part applied before the outage
would, rightly, decide other places).
"""
from __future__ import annotations

import asyncio
import os
import time

import pytest

from engine.alerts.sinks.readers import ALERTS_TOPIC
from streams.kafka_io import produce
from tests.faults.harness import state
from tests.faults.runs import TIMEOUT_S, Run, compare, dead_letter_rows
from tests.support.polling import wait_until
from tests.support.postgres import PostgresServer
from tests.support.service import WorkerProcess
from tests.support.webhook import IdempotentReceiver

pytestmark = pytest.mark.slow

# The quiet periods: longer than the outage and the recovery (the broker's JVM takes ~20 s to start again here).
BROKER_QUIET_S = os.environ.get("COHORTPLAN_FAULTS_BROKER_QUIET_S")  # default: from the broker's own start time
DATABASE_QUIET_S = os.environ.get("COHORTPLAN_FAULTS_DATABASE_QUIET_S", "25")
BROKER_DOWN_S = float(os.environ.get("COHORTPLAN_FAULTS_BROKER_DOWN_S", "5"))
DATABASE_DOWN_S = float(os.environ.get("COHORTPLAN_FAULTS_DATABASE_DOWN_S", "5"))
WEBHOOK_DOWN_S = float(os.environ.get("COHORTPLAN_FAULTS_WEBHOOK_DOWN_S", "20"))
# What a worker logs when it loses the broker (aiokafka) or the database (streams/service.py), and when the
# webhook refuses connections (engine/alerts/sinks/retrying.py).
BROKER_LOST = ("Unable connect to node", "Unable to update metadata", "KafkaConnectionError", "Connection refused",
               "Heartbeat failed", "coordinator dead", "Coordinator dead", "NodeNotReady")
DATABASE_LOST = ("database unavailable",)  # the batch it holds failed and the database does not answer: it waits
WEBHOOK_LOST = ("webhook unreachable",)


class LogMark:
    """What a worker logged after a point: did it notice the outage?"""

    def __init__(self, worker: WorkerProcess, from_start: bool = False) -> None:
        self.path = worker.log_path
        self.offset = 0 if from_start or not self.path.exists() else self.path.stat().st_size

    def text(self) -> str:
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            return handle.read().decode(errors="replace")

    def saw(self, phrases: tuple[str, ...]) -> str | None:
        text = self.text()
        return next((p for p in phrases if p in text), None)

    def count(self, phrase: str) -> int:
        return self.text().count(phrase)


def _down(seconds: float, worker: WorkerProcess, mark: LogMark, phrases: tuple[str, ...], timeout: float = 180):
    """Until ``seconds`` passed and the worker's log shows it noticed; the phrase it logged."""
    began = time.monotonic()
    return wait_until(lambda: time.monotonic() - began >= seconds and mark.saw(phrases), timeout=timeout,
                      interval=0.5, message=worker.log_tail)


def _drained(run: Run) -> None:
    """Lag 0: ready, every owned partition's messages applied (the same worker process, never restarted)."""
    [worker] = run.workers
    answer = wait_until(lambda: (r := run.ready(worker)) and r["not_applied"] == 0 and r, timeout=120,
                        message=worker.log_tail)
    assert answer["ready"] and not answer["end_unknown"]
    health = run.scrape(worker)
    assert sum(health["lag"].values()) == 0, health["lag"]
    assert worker.alive() and worker.starts == 1


def test_scenario_3_the_broker_stopped_and_restarted_mid_stream_the_worker_recovers_alone(
        own_kafka_broker, clean_file, tmp_path, record_property):
    # A broker of the test's own: the session's shared one reloads every topic made before on a restart, so its
    # restart grows with the run. This one starts again about as slowly as it started first (19–31 s on this
    # machine under load): the quiet period outlasts twice that and the outage.
    kafka_broker = own_kafka_broker
    quiet = BROKER_QUIET_S or str(max(40, round(2 * (kafka_broker.start_seconds or 20) + BROKER_DOWN_S + 10)))
    run = Run(kafka_broker, tmp_path, COHORTPLAN_REPLAN_QUIET_S=quiet)
    stream = run.clean(clean_file)
    outage: dict = {"quiet_s": float(quiet)}

    def stop_the_broker(run: Run) -> None:
        [worker] = run.workers
        wait_until(lambda: run.progress().caught_up >= len(stream) // 3, timeout=TIMEOUT_S,
                   message=worker.log_tail)
        mark, began = LogMark(worker), time.monotonic()
        kafka_broker.stop()
        try:
            outage.update(applied=run.progress().caught_up, noticed=_down(BROKER_DOWN_S, worker, mark, BROKER_LOST))
        finally:  # back whatever happened (the worker must recover alone)
            kafka_broker.start()
        outage.update(seconds=round(time.monotonic() - began, 1), restart_s=round(kafka_broker.start_seconds, 1))

    run.feed(stream, during=stop_the_broker, settled=_drained)
    report = compare(run, clean_file, "3: broker stopped and restarted", len(stream), record_property)
    print(f"3: broker down {outage}")
    record_property("outage", outage)
    assert report.dead_letters == 0 and dead_letter_rows(run) == []


@pytest.fixture
def own_postgres() -> PostgresServer:
    """A PostgreSQL server of this test's own (halting the session's would cut every other test's), with the
    durable defaults of a production server (``COHORTPLAN_FAULTS_PG_DURABLE=0``: the suite's fast settings)."""
    server = PostgresServer(durable=os.environ.get("COHORTPLAN_FAULTS_PG_DURABLE", "1") != "0").start()
    try:
        yield server
    finally:
        server.stop()


def test_scenario_4_postgresql_stopped_and_restarted_mid_stream_the_worker_retries(
        kafka_broker, own_postgres, clean_file, tmp_path, record_property):
    url = own_postgres.create_database("faults")
    run = Run(kafka_broker, tmp_path, url, COHORTPLAN_REPLAN_QUIET_S=DATABASE_QUIET_S)
    stream = run.clean(clean_file)
    half = len(stream) // 2
    outage: dict = {}

    def stop_postgres(run: Run) -> None:
        """The first half applied, PostgreSQL stops, the second half arrives: the worker holds a batch it
        cannot apply, tries it once, finds the database gone and waits; PostgreSQL starts again."""
        [worker] = run.workers
        wait_until(lambda: run.progress().caught_up >= half, timeout=TIMEOUT_S, message=worker.log_tail)
        mark, began = LogMark(worker), time.monotonic()
        own_postgres.halt()
        asyncio.run(produce(stream[half:], run.settings.bootstrap_servers))
        outage.update(noticed=_down(DATABASE_DOWN_S, worker, mark, DATABASE_LOST))
        own_postgres.resume()
        outage.update(seconds=round(time.monotonic() - began, 1))

    run.feed(stream[:half], during=stop_postgres, settled=_drained, expected=len(stream))
    report = compare(run, clean_file, "4: PostgreSQL stopped and restarted", len(stream), record_property)
    print(f"4: PostgreSQL down {outage}")
    record_property("outage", outage)
    assert report.dead_letters == 0 and dead_letter_rows(run) == [], "a valid event dead-lettered"
    assert run.counters()["isolated"] == 0, "a batch the database could not take was split message by message"


def test_scenario_6_the_webhook_receiver_down_for_a_while_gets_every_alert_once_it_is_back(
        kafka_broker, clean_file, tmp_path, record_property):
    receiver = IdempotentReceiver()
    url = receiver.start()
    receiver.stop()  # down from the start: its port refuses connections until it starts again
    run = Run(kafka_broker, tmp_path, COHORTPLAN_ALERT_WEBHOOK_URL=url, COHORTPLAN_ALERT_BACKOFF_MAX_S="10",
              COHORTPLAN_ALERT_READER_INTERVAL_S="1")
    stream = run.clean(clean_file)
    outage: dict = {}
    began = time.monotonic()

    def bring_the_receiver_back(run: Run) -> None:
        [worker] = run.workers
        assert receiver.count() == 0
        mark = LogMark(worker, from_start=True)
        outage.update(noticed=_down(WEBHOOK_DOWN_S - (time.monotonic() - began), worker, mark, WEBHOOK_LOST),
                      unreachable_lines=mark.count(WEBHOOK_LOST[0]))
        receiver.start()
        outage.update(seconds=round(time.monotonic() - began, 1))
        expected = _alert_ids(run)
        wait_until(lambda: set(receiver.accepted) >= expected, timeout=TIMEOUT_S, message=worker.log_tail)
        outage.update(alerts=len(expected))

    try:
        run.feed(stream, settled=bring_the_receiver_back)
    finally:
        receiver.stop()
    report = compare(run, clean_file, "6: webhook receiver down", len(stream), record_property)
    expected = _alert_ids(run)
    print(f"6: webhook down {outage}; re-sent {receiver.resent}")
    record_property("outage", outage)
    assert expected and set(receiver.accepted) == expected  # every alert, and no other
    assert receiver.resent == 0 and receiver.missing_key == 0  # each id accepted once, never offered again
    assert report.dead_letters == 0


def _alert_ids(run: Run) -> set[str]:
    """The event ids of the alerts the worker decided (its outbox's alert rows)."""
    tables = getattr(run, "tables", None) or state(run.database_url)
    return {row["message_id"] for row in tables["outbox"] if row["topic"] == ALERTS_TOPIC}
