"""The re-plan scheduler plans a region only under the fence of its re-plan partition (issue 16 scenario 7):
two workers that both believe they own a partition (one of them stale, e.g. paused through a rebalance) never
both publish: the one whose fence the database moved past is refused, and says so."""
from __future__ import annotations

import logging
from datetime import date

import pytest

from engine.services.fencing import plan_owners
from engine.settings import EngineSettings
from streams.replan import ReplanScheduler, region_partition
from streams.service import EngineService
from tests.support.events import cohort_planned
from tests.unit.engine.test_plan_publish import _region as small_region

PARTITIONS = 3
PARTITION = region_partition("RS", PARTITIONS)


@pytest.fixture
def workers(store, memory_bootstrap):
    """Two workers' services and schedulers on one store holding a small dirty region RS."""
    h = small_region(store, 4, cohort_planned("C1", date(2025, 3, 3)))
    made = []
    for holder in ("worker-a", "worker-b"):
        service = EngineService(memory_bootstrap(EngineSettings(allocator="current-practice"), store))
        scheduler = ReplanScheduler(service, PARTITIONS, quiet_s=0, max_delay_s=60, holder=holder)
        made.append(scheduler)
    yield h, made
    for scheduler in made:
        scheduler.service.close()


async def test_a_stale_owner_is_refused_and_the_partitions_new_owner_plans(workers, caplog):
    h, (a, b) = workers
    a.own({PARTITION})
    await a.take({PARTITION})
    b.own({PARTITION})  # a rebalance gave the partition to b; a never heard (paused, cut off)
    await b.take({PARTITION})
    assert (a.fence_of("RS").generation, b.fence_of("RS").generation) == (1, 2)

    with caplog.at_level(logging.WARNING):
        await a._plan("RS")
    assert a.service.stats.plans == 0 and a.service.stats.plans_dropped == 1
    assert h.outbox("plan.published") == []
    assert any("plan for RS refused: region RS: the plan's owner worker-a" in r.getMessage() for r in caplog.records)

    await b._plan("RS")
    assert b.service.stats.plans == 1
    assert len(h.outbox("plan.published")) == 1
    with h.db.uow() as uow:
        owners = plan_owners(uow)
    assert owners == {b.service.stats.last_plan["version"]: dict(region="RS", fence=f"replan:{PARTITION}",
                                                                 generation=2, holder="worker-b")}


async def test_a_partition_given_back_to_its_holder_keeps_its_generation_and_a_revoked_one_plans_nothing(workers):
    _, (a, _) = workers
    a.own({PARTITION})
    await a.take({PARTITION})
    a.revoke({PARTITION})
    assert a.fence_of("RS") is None
    a.own({PARTITION})  # the next rebalance gives it back: nobody held it in between
    await a.take({PARTITION})
    assert a.fence_of("RS").generation == 1
