"""Fault scenarios 2 and 7 of issue 16 §1: workers SIGKILLed.

2. One worker SIGKILLed five times at random points (three while it applies the stream, one after the last
   message while the plan waits for its quiet period, one as soon as the plan is published, while the relay
   sends it) and started again each time → the state of a clean embedded replay, nothing lost; on the wire
   an id may arrive twice (sent, then killed before it was marked sent), always as the same message.
3. (test_outages.py)
7. Three workers on a partitioned topic (and PostgreSQL, as several workers need); the one owning the region's re-plan partition is killed while the
   stream is applied → its partitions move to the others and the state is the reference's. No region is
   planned by two workers at once, and the run proves it: every published plan records the fence it was
   published under (its owner and generation, taken from the database when the owner took the partition);
   the generations of the region's plans never go back, each generation has one holder, and the killed
   worker's own fence, tried against the run's database after the hand-over, is refused as stale.

The kill points come from ``COHORTPLAN_FAULTS_SEED`` (random by default; the report line prints it).
"""
from __future__ import annotations

import os
import random
import re
import uuid
from datetime import date
from pathlib import Path

import pytest

from engine.bootstrap import bootstrap
from engine.services.fencing import Fence, Stale, current_fence, plan_owners
from streams.replan import region_partition
from tests.faults.runs import TIMEOUT_S, Run, compare, dead_letter_rows
from tests.support.polling import wait_until
from tests.support.service import engine_settings

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("COHORTPLAN_FAULTS_SEED") or random.SystemRandom().randrange(10**6))
TOOK = re.compile(r"worker (\S+) took re-plan partition (\d+) at fence generation (\d+)")


def test_scenario_2_a_worker_sigkilled_five_times_loses_nothing_and_doubles_nothing(kafka_broker, clean_file,
                                                                                     tmp_path, record_property):
    # Small transactions keep the worker applying long enough to be killed while it does: since the replay got
    # faster, a whole batch of 1,000 left it idle before the second kill. A kill point past the end of the
    # stream is the end (killed idle, then), recorded as such.
    run = Run(kafka_broker, tmp_path, COHORTPLAN_BATCH_MAX="20")
    stream = run.clean(clean_file)
    n, rng = len(stream), random.Random(SEED)
    targets = sorted(rng.sample(range(n // 20, n - n // 20), 3))
    kills: list[tuple[str, int]] = []

    def crash_five_times(run: Run) -> None:
        [worker] = run.workers

        def kill_when(what: str, condition) -> None:
            wait_until(condition, timeout=TIMEOUT_S, message=worker.log_tail)
            run.kill(worker)
            kills.append((what, run.progress().caught_up))
            worker.start()

        for target in targets:  # killed while it applies: past the target and past the last kill
            floor = min(n, max(target, kills[-1][1] + 1 if kills else 0))
            kill_when(f"applying, past {target}", lambda: run.progress().caught_up >= floor)
        kill_when("quiet period", lambda: run.progress().caught_up >= n)
        kill_when("plan published", lambda: run.progress().planned)

    run.feed(stream, during=crash_five_times)
    record_property("kills (point, messages applied at the kill)", kills)
    report = compare(run, clean_file, f"2: SIGKILL x5 (seed {SEED})", n, record_property, redelivery=True)
    print(f"kills (point, messages applied then): {kills}")
    assert run.workers[0].starts == 6 and len(kills) == 5
    assert report.dead_letters == 0 and dead_letter_rows(run) == []


def test_scenario_7_three_workers_one_killed_hand_over_and_no_region_is_planned_by_two(
        kafka_broker, postgres_server, clean_file, tmp_path, record_property):
    # Several workers need PostgreSQL (README): on SQLite the outbox relay's lock is no lock, and two workers'
    # relays may send the same rows. The killed worker's partitions stall until its session times out and the
    # group rebalances: the quiet period outlasts that hand-over, so the one plan comes after the whole stream,
    # as in the reference.
    url = postgres_server.create_database(f"faults7_{uuid.uuid4().hex[:8]}")
    run = Run(kafka_broker, tmp_path, url,
              COHORTPLAN_REPLAN_QUIET_S=os.environ.get("COHORTPLAN_FAULTS_HANDOVER_QUIET_S", "25"),
              COHORTPLAN_SESSION_TIMEOUT_S="6")
    stream = run.clean(clean_file)
    n, rng = len(stream), random.Random(SEED)
    killed: dict[str, object] = {}

    def kill_the_regions_owner(run: Run) -> None:
        region = wait_until(lambda: run.progress().dirty, timeout=TIMEOUT_S, message=run.log_tails)[0]
        partition = region_partition(region, run.settings.partitions)

        def owner():
            """the worker owning the region's re-plan partition and holding its fence, once all three have inbound
            partitions"""
            health = {id(w): run.scrape(w) for w in run.workers}
            if not all(h and h["merge"]["partitions"] for h in health.values()):
                return None
            # /health lists the partition as soon as it is assigned, the fence is taken just after: wait for both
            return next((w for w in run.workers if partition in health[id(w)]["replan_partitions"]
                         and _takes(w.log_path, partition)), None)

        target = rng.randrange(n // 10, n // 2)
        victim = wait_until(lambda: run.progress().caught_up >= target and owner(), timeout=TIMEOUT_S,
                            message=run.log_tails)
        run.kill(victim)
        killed.update(worker=victim, region=region, partition=partition, applied=run.progress().caught_up)

    run.feed(stream, workers=3, during=kill_the_regions_owner)
    report = compare(run, clean_file, f"7: 3 workers, the region's owner killed (seed {SEED})", n, record_property)
    victim, region, partition = killed["worker"], killed["region"], killed["partition"]
    survivors = [w for w in run.workers if w is not victim]
    assert not victim.alive() and all(w.starts == 1 for w in survivors)

    # The proof that no region was planned by two workers at once. Every take of the partition's fence, from
    # every worker's log (the last ones as the workers stopped at the end and handed it on again):
    fence_name = f"replan:{partition}"
    takes = sorted({fence for w in run.workers for fence in _takes(w.log_path, partition)},
                   key=lambda f: f.generation)
    by_generation: dict[int, set[str]] = {}
    for fence in takes:
        by_generation.setdefault(fence.generation, set()).add(fence.holder)
    assert all(len(h) == 1 for h in by_generation.values()), f"one generation, two holders: {by_generation}"
    victims_fence = max((f for f in _takes(victim.log_path, partition)), key=lambda f: f.generation, default=None)
    assert victims_fence is not None, "the killed worker owned the partition without taking its fence"
    engine = bootstrap(engine_settings(run.env, database_url=run.database_url), run_migrations=False)
    with engine.database.uow() as uow:
        owners, now = plan_owners(uow), current_fence(uow, fence_name)
    assert now == takes[-1], (now, takes)
    plans = sorted(run.tables["plans"], key=lambda p: p["plan_version"])
    assert [owners.get(p["plan_version"], {}).get("region") for p in plans] == [p["region_code"] for p in plans], \
        "a published plan without its owner's fence"
    published = [Fence(o["fence"], o["generation"], o["holder"]) for o in (owners[p["plan_version"]] for p in plans)
                 if o["region"] == region]
    assert all(fence in takes for fence in published), (published, takes)  # each under a fence really taken
    assert [f.generation for f in published] == sorted(f.generation for f in published)
    assert all(f.generation > victims_fence.generation for f in published), "a plan under the killed owner's fence"

    # The killed worker as a stale owner that wakes up now: its plan is refused on the run's database.
    stale = engine.planner()
    stale.fence_of = lambda r: victims_fence if r == region else None
    prepared = stale.prepare(region, date.fromisoformat(plans[-1]["as_of"]))
    with pytest.raises(Stale, match="is stale"):
        stale.publish(prepared, stale.allocator.allocate(prepared.problem))
    with engine.database.uow() as uow:
        assert len(plan_owners(uow)) == len(owners)
    print(f"7: killed the owner of {fence_name} (generation {victims_fence.generation}) after "
          f"{killed['applied']} messages; the fence's takes {[(f.generation, f.holder) for f in takes]}; plans "
          f"under {[(f.generation, f.holder) for f in published]}; report {report.line()}")


def _takes(log: Path, partition: int) -> list[Fence]:
    """The fences of the partition a worker's log says it took."""
    return [Fence(f"replan:{partition}", int(m.group(3)), m.group(1))
            for m in TOOK.finditer(log.read_text(errors="replace")) if int(m.group(2)) == partition]
