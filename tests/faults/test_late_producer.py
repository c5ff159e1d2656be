"""Fault scenario 8 of issue 16 §1: one producer is late. The sentence topic's events for an hour arrive in a
burst after the other topics' (a producer outage and its catch-up) into a running worker → the same final state
as the ordered replay.

The worker first gets every event dated before the end of the hour except the sentence topic's events of that
hour, and applies them (the referral and delivery producers ran on; the sentence producer was down). Then the
sentence producer catches up: its hour arrives in one burst, followed by everything else. The event-time merger
(streams/merge.py) cannot order what has not been produced yet, so the burst is dated before changes the worker
has already applied; the engine folds each such event in at its place in event-time order
(engine/handlers/status_log.py). The hour is the one holding the most sentence-topic events (at the small size,
the first hour of the region, when its people, orders and referrals appear).

The generative property over random windows, topics and batch sizes, on the embedded engine, is
tests/generative/test_late_producer.py. Figures and the command: docs/RELIABILITY.md.
"""
from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta

import pytest

from streams.kafka_io import Routed, produce
from tests.faults.runs import TIMEOUT_S, Run, compare, dead_letter_rows
from tests.support.polling import wait_until
from tests.support.service import read_all

pytestmark = pytest.mark.slow

LATE_FOR = timedelta(hours=1)  # the producer's outage
CATCH_UP_AFTER = timedelta(hours=1)  # of event time the other producers ran on before it caught up


def _at(message: Routed) -> datetime:
    return datetime.fromisoformat(json.loads(message.value)["occurred_at"])


def late_hour(clean: list[Routed], topic: str,
              catch_up_after: timedelta = CATCH_UP_AFTER) -> tuple[list[Routed], list[Routed], list[Routed]]:
    """The stream split as a late producer delivers it: what arrives before the catch-up (every event dated before
    the end of the busiest hour of ``topic`` plus ``catch_up_after``, but that hour's events of ``topic``),
    the burst (that hour of ``topic``), and the rest."""
    hours = Counter(_at(m).replace(minute=0, second=0, microsecond=0) for m in clean if m.topic == topic)
    start = max(hours, key=lambda hour: (hours[hour], -hour.timestamp()))
    end = start + LATE_FOR
    late = [m for m in clean if m.topic == topic and start <= _at(m) < end]
    others = [m for m in clean if not (m.topic == topic and start <= _at(m) < end)]
    cut = next((n for n, m in enumerate(others) if _at(m) >= end + catch_up_after), len(others))
    return others[:cut], late, others[cut:]


@pytest.mark.parametrize("park_timeout_h, catch_up_after", [(168, CATCH_UP_AFTER), (1, timedelta(days=3))],
                         ids=["within the park timeout", "past the park timeout"])
def test_scenario_8_a_late_producer_ends_in_the_ordered_replays_state(kafka_broker, clean_file, tmp_path,
                                                                      record_property, park_timeout_h, catch_up_after):
    """Past the park timeout (1 h; the producer catches up three days of event time later), what waited for the
    late hour expires into dead letters while the producer is down, and is re-admitted when it catches up: the
    same state, and no dead letter left."""
    # A quiet period longer than the catch-up: the worker plans once, after everything, as the reference does.
    run = Run(kafka_broker, tmp_path, COHORTPLAN_REPLAN_QUIET_S="20", COHORTPLAN_PARK_TIMEOUT_HOURS=str(park_timeout_h))
    clean = run.clean(clean_file)
    before, burst, rest = late_hour(clean, run.settings.topic_sentences, catch_up_after)
    assert burst and before, "the late hour must hold sentence events and follow others"
    dated_after = [m for m in before if _at(m) > min(map(_at, burst))]
    assert dated_after, "the burst must be dated before events already applied"

    def outage_then_catch_up(run: Run) -> None:
        worker = run.workers[0]
        wait_until(lambda: run.ready(worker), timeout=TIMEOUT_S, message=worker.log_tail)
        wait_until(lambda: run.progress().caught_up >= len(before), timeout=TIMEOUT_S, message=worker.log_tail)
        asyncio.run(produce(burst + rest, run.settings.bootstrap_servers))

    run.feed(before, during=outage_then_catch_up, expected=len(clean))
    report = compare(run, clean_file, f"8: sentence topic late for an hour (park timeout {park_timeout_h} h)",
                     len(clean), record_property)
    assert report.dead_letters == 0 and dead_letter_rows(run) == []
    if park_timeout_h < (LATE_FOR + catch_up_after) / timedelta(hours=1):
        assert report.readmitted > 0, "nothing expired: the scenario did not test re-admission"
    # The dead-letter topic: every expiry sent, and every re-admission after it, for the same positions.
    messages = [m.json() for m in read_all(run.settings, run.settings.topic_deadletter)]
    on_topic = Counter((m["event_type"], m["payload"]["topic"], m["payload"]["partition"], m["payload"]["offset"])
                       for m in messages)
    letters = {k[1:] for k in on_topic if k[0] == "event.dead_lettered"}
    back = {k[1:] for k in on_topic if k[0] == "event.readmitted"}
    assert sum(n for k, n in on_topic.items() if k[0] == "event.readmitted") == report.readmitted
    assert back == letters, "a letter never taken back, or a re-admission never dead-lettered"
