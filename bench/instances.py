"""Benchmark instance states for the solver bench: plain, picklable :class:`solver.schema.Problem`s.

A state is what the engine would hand the allocator on a normal Monday: a generated region replayed
through the production engine (embedded SQLite, in-process) with weekly current-practice plans
(today's practice), then the problem for the next weekly plan date (the Monday right after the last
event), built exactly as :class:`engine.services.planning.Planner` builds it: cohorts advanced and
frozen places pinned, then :func:`engine.services.problem.build_problem` with the candidate grid. The
advance is rolled back, so the database is left as the replay ended it.

Instances are cached (pickle) under ``bench/.cache/instances/``, keyed by family, seed and the build
settings, so repeated bench runs only pay for solving.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from solver.schema import Problem

CACHE = Path(__file__).resolve().parent / ".cache"
INSTANCES = CACHE / "instances"
VERSION = 1  # bump when the way states are built changes


@dataclass(frozen=True)
class Family:
    name: str
    scale: float
    weeks: int
    note: str


FAMILIES = {
    "S": Family("S", 0.15, 52, "scale 0.15, 52 weeks replayed"),
    "SM": Family("SM", 0.4, 52, "scale 0.4, 52 weeks replayed"),
    "M": Family("M", 1.0, 52, "default region (scale 1.0), 52 weeks replayed"),
}


@dataclass(frozen=True)
class Instance:
    family: str
    seed: int
    problem: Problem
    events: int
    plans: int
    build_seconds: float

    @property
    def label(self) -> str:
        return f"{self.family}/seed {self.seed}"


def build_state(scale: float, weeks: int, seed: int, time_limit_s: float = 10.0) -> tuple[Problem, int, int]:
    """Generate, replay with weekly current-practice plans, build the next Monday's problem."""
    from engine.bootstrap import bootstrap
    from engine.services.planning import _advance
    from engine.services.problem import build_problem
    from engine.services.replay import Replay, read_lines
    from engine.settings import EngineSettings
    from simulator import GeneratorParams, generate

    with tempfile.TemporaryDirectory(prefix="solver-bench-") as tmp:
        work = Path(tmp)
        params = GeneratorParams(weeks=weeks, seed=seed, scale=scale)
        events_path = work / "events.jsonl"
        generated = generate(params, events_path)
        engine = bootstrap(EngineSettings(database_url=f"sqlite:///{work}/state.db", solver_in_process=True,
                                          allocator="current-practice"))
        region = engine.load_region()
        planner = engine.planner("current-practice")
        summary = Replay(engine.ingestor, planner, timedelta(days=7), engine.settings.batch_size).run(
            read_lines(events_path))
        as_of: date = params.start + timedelta(weeks=weeks)  # Monday after the last event: the next plan
        with engine.database.uow() as uow:  # leaves without commit: the advance is rolled back
            _advance(uow, region, as_of, engine.settings.freeze_days)
            snap = build_problem(uow, region, as_of, engine.rules, engine.params(time_limit_s=time_limit_s),
                                 engine.grid())
        engine.database.dispose()
    return snap.problem, generated.lines, len(summary.plans)


def relabel(problem: Problem, code: str) -> Problem:
    """The same problem as region ``code``, with referral, crn and cohort ids prefixed (independent regions)."""
    p = f"{code}:"
    demands = tuple(dataclasses.replace(
        d, referral_id=p + d.referral_id, crn=p + d.crn,
        non_associations=frozenset(p + x for x in d.non_associations),
        current_cohort_id=p + d.current_cohort_id if d.current_cohort_id else None) for d in problem.demands)
    cohorts = tuple(dataclasses.replace(
        c, cohort_id=p + c.cohort_id, members=tuple(p + m for m in c.members),
        member_crns=tuple(p + m for m in c.member_crns),
        facilitator_ids=tuple(p + f for f in c.facilitator_ids)) for c in problem.cohorts)
    facilitators = tuple(dataclasses.replace(f, facilitator_id=p + f.facilitator_id) for f in problem.facilitators)
    return dataclasses.replace(problem, region_code=code, demands=demands, cohorts=cohorts,
                               facilitators=facilitators)


def schema_tag() -> str:
    """Pickles hold solver.schema dataclasses built with the planning settings of the day (COHORTPLAN_*: the
    grid's candidates, the plan's parameters): a changed schema or changed settings must not load stale
    instances."""
    import solver.schema
    from engine.settings import EngineSettings
    settings = EngineSettings().model_dump(exclude={"database_url"})
    digest = hashlib.sha256(Path(solver.schema.__file__).read_bytes())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:8]


def cache_path(family: str, seed: int) -> Path:
    f = FAMILIES[family]
    return INSTANCES / f"{family}-scale{f.scale:g}-weeks{f.weeks}-seed{seed}-v{VERSION}-{schema_tag()}.pickle"


def instance(family: str, seed: int) -> Instance:
    """The cached state for (family, seed), building it on first use."""
    f = FAMILIES[family]
    path = cache_path(family, seed)
    if path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    started = time.perf_counter()
    problem, events, plans = build_state(f.scale, f.weeks, seed)
    out = Instance(family, seed, problem, events, plans, round(time.perf_counter() - started, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        pickle.dump(out, handle)
    tmp.replace(path)
    return out


def build_one(key: tuple[str, int]) -> tuple[str, int, float]:
    """Worker entry point for building instances in parallel."""
    inst = instance(*key)
    return inst.family, inst.seed, inst.build_seconds


def sizes(problem: Problem) -> dict[str, int]:
    from solver.schema import CohortState
    return {"demands": len(problem.demands),
            "cohorts": len(problem.cohorts),
            "candidates": sum(1 for c in problem.cohorts if c.state == CohortState.CANDIDATE),
            "open_cohorts": sum(1 for c in problem.cohorts if c.state == CohortState.OPEN),
            "facilitators": len(problem.facilitators),
            "holding_place": sum(1 for d in problem.demands if d.current_cohort_id)}
