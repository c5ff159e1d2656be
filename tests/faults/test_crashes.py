"""Fault scenarios 2 and 7 of issue 16 §1: workers SIGKILLed.

2. One worker SIGKILLed five times at random points (three while it applies the stream, one after the last
   message while the plan waits for its quiet period, one as soon as the plan is published, while the relay
   sends it) and started again each time → the state of a clean embedded replay, nothing lost; on the wire
   an id may arrive twice (sent, then killed before it was marked sent), always as the same message.
3. (test_outages.py)
7. Three workers on a partitioned topic; the one owning the region's re-plan partition is killed while the
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
from datetime import date
from pathlib import Path

import pytest

from engine.bootstrap import bootstrap
from engine.services.planning import Fence, Stale, current_fence, plan_owners
from engine.settings import EngineSettings
from streams.replan import region_partition
from tests.faults.runs import TIMEOUT_S, Run, compare, dead_letter_rows
from tests.support.polling import wait_until

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("COHORTPLAN_FAULTS_SEED") or random.SystemRandom().randrange(10**6))
TOOK = re.compile(r"worker (\S+) took re-plan partition (\d+) at fence generation (\d+)")


def test_scenario_2_a_worker_sigkilled_five_times_loses_nothing_and_doubles_nothing(kafka_broker, clean_file,
                                                                                     tmp_path, record_property):
    run = Run(kafka_broker, tmp_path)
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
            floor = max(target, kills[-1][1] + 1 if kills else 0)
            kill_when(f"applying, past {target}", lambda: run.progress().caught_up >= floor)
        kill_when("quiet period", lambda: run.progress().caught_up >= n)
        kill_when("plan published", lambda: run.progress().planned)

    run.feed(stream, during=crash_five_times)
    record_property("kills (point, messages applied at the kill)", kills)
    report = compare(run, clean_file, f"2: SIGKILL x5 (seed {SEED})", n, record_property, redelivery=True)
    print(f"kills (point, messages applied then): {kills}")
    assert run.workers[0].starts == 6 and len(kills) == 5
    assert report.dead_letters == 0 and dead_letter_rows(run) == []


def test_scenario_7_three_workers_one_killed_hand_over_and_no_region_is_planned_by_two(kafka_broker, clean_file,
                                                                                       tmp_path, record_property):
    # The killed worker's partitions stall until its session times out and the group rebalances: the quiet
    # period outlasts that hand-over, so the one plan comes after the whole stream, as in the reference.
    run = Run(kafka_broker, tmp_path, COHORTPLAN_REPLAN_QUIET_S=os.environ.get("COHORTPLAN_FAULTS_HANDOVER_QUIET_S",
                                                                                "25"),
              COHORTPLAN_SESSION_TIMEOUT_S="6")
    stream = run.clean(clean_file)
    n, rng = len(stream), random.Random(SEED)
    killed: dict[str, object] = {}

    def kill_the_regions_owner(run: Run) -> None:
        region = wait_until(lambda: run.progress().dirty, timeout=TIMEOUT_S, message=run.log_tails)[0]
        partition = region_partition(region, run.settings.partitions)

        def owner():
            """the worker owning the region's re-plan partition, once all three have inbound partitions"""
            health = {id(w): run.scrape(w) for w in run.workers}
            if not all(h and h["merge"]["partitions"] for h in health.values()):
                return None
            return next((w for w in run.workers if partition in health[id(w)]["replan_partitions"]), None)

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

    # The proof that no region was planned by two workers at once.
    fence_name = f"replan:{partition}"
    victims_fence = _taken(victim.log_path, partition)
    assert victims_fence is not None, "the killed worker owned the partition without taking its fence"
    engine = bootstrap(EngineSettings(database_url=run.database_url), run_migrations=False)
    with engine.database.uow() as uow:
        owners, now = plan_owners(uow), current_fence(uow, fence_name)
    plans = sorted(run.tables["plans"], key=lambda p: p["plan_version"])
    assert [owners.get(p["plan_version"], {}).get("region") for p in plans] == [p["region_code"] for p in plans], \
        "a published plan without its owner's fence"
    generations = [owners[p["plan_version"]]["generation"] for p in plans if p["region_code"] == region]
    assert generations == sorted(generations)
    holders: dict[tuple[str, int], set[str]] = {}
    for owner in owners.values():
        holders.setdefault((owner["fence"], owner["generation"]), set()).add(owner["holder"])
    assert all(len(h) == 1 for h in holders.values()), holders
    assert now is not None and now.generation > victims_fence.generation and now.holder != victims_fence.holder
    assert owners[plans[-1]["plan_version"]]["holder"] == now.holder

    # The killed worker as a stale owner that wakes up now: its plan is refused on the run's database.
    stale = engine.planner()
    stale.fence_of = lambda r: victims_fence if r == region else None
    prepared = stale.prepare(region, date.fromisoformat(plans[-1]["as_of"]))
    with pytest.raises(Stale, match="is stale"):
        stale.publish(prepared, stale.allocator.allocate(prepared.problem))
    with engine.database.uow() as uow:
        assert len(plan_owners(uow)) == len(owners)
    print(f"7: killed the owner of {fence_name} (generation {victims_fence.generation}) after "
          f"{killed['applied']} messages; plans under generations {generations}, fence now generation "
          f"{now.generation}; report {report.line()}")


def _taken(log: Path, partition: int) -> Fence | None:
    """The last fence the worker's log (one process's) says it took for the partition."""
    found = None
    for match in TOOK.finditer(log.read_text(errors="replace")):
        if int(match.group(2)) == partition:
            found = Fence(f"replan:{partition}", int(match.group(3)), match.group(1))
    return found
