"""The fault suite's tools: a generated stream made faulty, a worker run to the end on a real broker, a clean
embedded replay of the same events, and what to compare between them (issue 16 §1).

- :func:`canonical_hash` hashes the state that matters to people: referrals (with their status), allocations,
  cohorts and open alerts (each table as sorted canonical rows, :meth:`Queries.canonical_state`). The status
  history is compared on its own (:func:`differing_tables`): a status change that arrives after a later one of
  the same referral is stale by design (docs/events.md), so the final status is the same but the history
  lacks the step in between.
- the reference is :func:`tests.support.service.embedded_state`: the clean file replayed in-process and each
  changed region planned once, as of the day the worker planned.
- :class:`Report` is the per-scenario line: events in, applied, duplicates dropped, dead letters, outbound ids
  missing and doubled.
"""
from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.bootstrap import bootstrap
from engine.settings import EngineSettings
from streams.kafka_io import Received, Routed

# What the state hash covers: who is referred and in what status, who holds which place, the cohorts, and the
# alerts open now.
HASHED = ("referrals", "allocations", "cohorts", "active_alerts")
OUTBOUND = ("allocation.made", "allocation.changed", "allocation.removed", "cohort.proposed", "plan.published")


@dataclass
class Report:
    scenario: str
    events_in: int
    applied: int
    duplicates_dropped: int
    dead_letters: int
    outbound_missing: int
    outbound_doubled: int
    outbound_extra: int = 0
    history_rows_differing: int = 0  # status history rows in one run and not the other (see the module doc)
    readmitted: int = 0  # events that expired into dead letters and came back when what they waited for arrived
    # (dead_letters counts what is left: dead-lettered minus re-admitted)

    def line(self) -> str:
        return json.dumps(asdict(self))


def state(database_url: str) -> dict[str, list[dict[str, Any]]]:
    q = bootstrap(EngineSettings(database_url=database_url), run_migrations=False).queries()
    try:
        return q.canonical_state()
    finally:
        q.close()


def canonical_hash(tables: dict[str, list[dict[str, Any]]], drop_alert_kinds: tuple[str, ...] = ()) -> str:
    """One sha256 over the hashed tables (open alerts of ``drop_alert_kinds`` left out)."""
    subset = {name: tables[name] for name in HASHED}
    subset["active_alerts"] = [a for a in subset["active_alerts"] if a["kind"] not in drop_alert_kinds]
    return hashlib.sha256(json.dumps(subset, sort_keys=True, default=str).encode()).hexdigest()


def differing_tables(a: dict, b: dict, drop_alert_kinds: tuple[str, ...] = (),
                     names: tuple[str, ...] = (*HASHED, "referral_history")) -> dict[str, int]:
    """Per table, how many rows are in one state and not the other (the tables that differ only)."""
    out = {}
    for name in names:
        rows_a = {json.dumps(r, sort_keys=True, default=str) for r in a[name]
                  if name != "active_alerts" or r["kind"] not in drop_alert_kinds}
        rows_b = {json.dumps(r, sort_keys=True, default=str) for r in b[name]
                  if name != "active_alerts" or r["kind"] not in drop_alert_kinds}
        if rows_a != rows_b:
            out[name] = len(rows_a ^ rows_b)
    return out


def outbound_ids(tables: dict) -> set[str]:
    """The ids of the decisions and plans a database's outbox holds (what its relay sends)."""
    return {row["message_id"] for row in tables["outbox"] if row["event_type"] in OUTBOUND}


def compare_outbound(expected: set[str], received: list[Received]) -> tuple[int, int, int]:
    """Missing (expected, never received), doubled (received more than once), extra (received, not expected)."""
    counts = Counter(m.message_id for m in received if m.event_type in OUTBOUND)
    return (len(expected - set(counts)), sum(n - 1 for n in counts.values() if n > 1), len(set(counts) - expected))


# Making a clean stream faulty --------------------------------------------------------------------------------

def with_duplicates_and_reordering(clean: list[Routed], rng: random.Random, duplicates: float, reordered: float,
                                   within: timedelta | None = None) -> list[Routed]:
    """``reordered`` of the events each moved behind the next event of its key (topic and key: the order Kafka
    keeps), when that one is at most ``within`` later in event time (None: however much later); then copies of
    ``duplicates`` of the events (same bytes, so the same event id) later on their own key."""
    stream = list(clean)
    by_key: dict[tuple, list[int]] = defaultdict(list)
    for i, m in enumerate(stream):
        by_key[(m.topic, m.key)].append(i)
    pairs = [(a, b) for positions in by_key.values() for a, b in zip(positions, positions[1:])
             if within is None or _at(stream[b]) - _at(stream[a]) <= within]
    rng.shuffle(pairs)
    moved: set[int] = set()
    for a, b in pairs:
        if len(moved) >= int(len(clean) * reordered):
            break
        if a not in moved and b not in moved:
            stream[a], stream[b] = stream[b], stream[a]
            moved.add(a)
            moved.add(b)
    for i in sorted(rng.sample(range(len(clean)), int(len(clean) * duplicates)), reverse=True):
        stream.insert(rng.randint(i + 1, len(stream)), clean[i])  # later than the original, same partition
    return stream


def _at(message: Routed) -> datetime:
    return datetime.fromisoformat(json.loads(message.value)["occurred_at"])


def poison(settings, count: int, rng: random.Random) -> list[tuple[Routed, str | None]]:
    """``count`` poison messages of four kinds over the inbound topics, keyed ``poison-<n>``, each with the
    event id a dead letter should carry (None where the envelope has no valid one)."""
    out = []
    for n in range(count):
        topic, key = settings.inbound_topics[n % 3], f"poison-{n}"
        event_id = str(uuid.UUID(int=rng.getrandbits(128)))
        envelope = {"event_id": event_id, "schema_version": 1, "occurred_at": "2025-01-06T09:00:00Z",
                    "source": "faults", "key": key}
        kind = n % 4
        if kind == 0:
            value, expected_id = b'{"event_id": "%s", "event_type": "referral.created", broken' % event_id.encode(), None
        elif kind == 1:  # wrong types: a valid envelope, a payload of the wrong shape
            value = json.dumps({**envelope, "event_type": "referral.created",
                                "payload": {"referral_id": 12, "crn": ["X"], "requirement_id": None}}).encode()
            expected_id = event_id
        elif kind == 2:
            value, expected_id = json.dumps({**envelope, "event_type": "referral.teleported", "payload": {}}).encode(), \
                event_id
        else:  # oversized: over the 256 KiB limit, never parsed
            value = json.dumps({**envelope, "event_type": "person.updated",
                                "payload": {"crn": key, "padding": "x" * 300_000}}).encode()
            expected_id = None
        out.append((Routed(topic, key.encode(), value), expected_id))
    return out


def interleave(clean: list[Routed], extra: list[Routed], rng: random.Random) -> list[Routed]:
    stream = list(clean)
    for message in extra:
        stream.insert(rng.randint(0, len(stream)), message)
    return stream
