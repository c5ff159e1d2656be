"""``generate``: build a region's event history and write it as JSONL, one envelope per line.

Output is byte-identical for the same parameters: every concern draws from its own seeded stream,
events are sorted by ``occurred_at`` with ties broken by the order they were generated, and
event ids are version-4 UUIDs drawn from a seeded stream in output order.
"""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from engine.events.envelope import new_envelope
from engine.events.registry import INBOUND
from simulator.cases import Case
from simulator.clock import Emitted, stream
from simulator.cohorts import planned_cohorts
from simulator.delivery import facilitator_events
from simulator.params import GeneratorParams
from simulator.people import Ids
from simulator.population import backlog_candidates, horizon_cases, replay_at_t0, settle_backlog
from simulator.region import World, build_world
from simulator.running import running_events, start_running_cohorts

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 1000
REQUIREMENT_EVENTS = ("requirement.created", "licence_condition.created")


@dataclass(frozen=True)
class GenerationSummary:
    events_by_type: dict[str, int]
    people: int  # cases with at least one event (merge duplicates not counted)
    backlog_people: int
    requirements: int  # requirements and licence conditions created, backlog included
    new_requirements: int  # created with a sentence starting on or after t0
    cohorts_planned: int  # candidates published by the delivery team within the horizon
    cohorts_running: int  # already running at t0, confirmed with members
    facilitators: int  # registrations, replacements included
    lines: int
    first_at: datetime | None = None
    last_at: datetime | None = None
    path: str = ""


def generate(params: GeneratorParams, out_path: str | Path,
             progress: Progress | None = None) -> GenerationSummary:
    """Write the synthetic history of ``params.weeks`` weeks from ``params.start`` to ``out_path``."""
    world = build_world(params)
    events, backlog, arrivals = _events(world)
    events = sorted((e for e in events if e.at < world.end), key=_order_key(events))
    lines = _write(world, events, Path(out_path), progress)
    counts = Counter(e.event_type for e in events)
    crns = {e.key for e in events if e.event_type in REQUIREMENT_EVENTS}
    backlog_sentences = {c.sentence_id for c in backlog}
    return GenerationSummary(
        events_by_type=dict(sorted(counts.items())),
        people=len({c.crn for c in backlog + arrivals} & crns),
        backlog_people=len(backlog),
        requirements=sum(counts[t] for t in REQUIREMENT_EVENTS),
        new_requirements=sum(1 for e in events if e.event_type in REQUIREMENT_EVENTS
                             and e.payload.sentence_id not in backlog_sentences),
        cohorts_planned=counts["cohort.planned"] - counts["cohort.confirmed"],
        cohorts_running=counts["cohort.confirmed"],
        facilitators=counts["facilitator.registered"],
        lines=lines,
        first_at=events[0].at if events else None,
        last_at=events[-1].at if events else None,
        path=str(out_path))


def _events(world: World) -> tuple[list[Emitted], list[Case], list[Case]]:
    seed = world.params.seed
    ids = Ids(stream(seed, "identifiers"))
    recent: dict[str, list[str]] = {}
    staff, events = facilitator_events(world, stream(seed, "facilitators"))
    candidates = backlog_candidates(world, ids, stream(seed, "backlog"), recent)
    running = start_running_cohorts(world, ids, stream(seed, "running-cohorts"), candidates, staff)
    events += running_events(world, ids, stream(seed, "attendance"), running)
    members = {c.referral_id for cohort in running for c in cohort.members}
    backlog = settle_backlog(world, ids, stream(seed, "backlog-settle"), candidates, members)
    events += replay_at_t0(world, backlog)
    events += planned_cohorts(world, ids, stream(seed, "planned-cohorts"))[1]
    arrivals = horizon_cases(world, ids, stream(seed, "arrivals"), recent)
    for case in arrivals:
        events += case.emitted()
    return events, backlog, arrivals


def _order_key(events: list[Emitted]) -> Callable[[Emitted], tuple[datetime, int]]:
    position = {id(e): n for n, e in enumerate(events)}
    return lambda e: (e.at, position[id(e)])


def _write(world: World, events: list[Emitted], path: Path, progress: Progress | None) -> int:
    ids = stream(world.params.seed, "event-ids")
    total = len(events)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for n, e in enumerate(events, start=1):
            if e.event_type not in INBOUND:
                raise ValueError(f"generator produced unknown event type {e.event_type!r}")
            event_id = uuid.UUID(int=ids.getrandbits(128), version=4)
            envelope = new_envelope(e.event_type, e.key, e.payload, e.at, source=e.source, event_id=event_id,
                                    schema_version=INBOUND[e.event_type].version)  # the payload models' version
            out.write(envelope.model_dump_json() + "\n")
            if progress is not None and (n % PROGRESS_EVERY == 0 or n == total):
                progress(n, total)
    return total
