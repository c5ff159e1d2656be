"""Fenced plans (issue 16 scenario 7): a worker plans a region under the fence it took in the database when it
took the region's re-plan partition; a stale owner's publish is refused, and a published plan records its
owner's generation."""
from __future__ import annotations

import logging
from datetime import date

import pytest

from engine.services.fencing import Fence, Stale, plan_owners
from engine.services.planning import Planner
from solver.baselines import CurrentPracticeAllocator
from tests.support.events import cohort_planned
from tests.unit.engine.harness import Harness
from tests.unit.engine.test_plan_publish import _region as small_region

AS_OF = date(2025, 2, 3)
FENCE = "replan:1"


@pytest.fixture
def h(store) -> Harness:
    return small_region(store, 6, cohort_planned("C1", date(2025, 3, 3)))


def _worker(h: Harness, holder: str) -> tuple[Planner, dict[str, Fence]]:
    """A worker's planner: it plans region RS only under the fence it holds (``held["RS"]``)."""
    planner = Planner(h.db.uow, CurrentPracticeAllocator(), h.rules)
    held: dict[str, Fence] = {}
    planner.fence_of = held.get
    return planner, held


def _owners(h: Harness) -> dict[int, dict]:
    with h.db.uow() as uow:
        return plan_owners(uow)


def test_a_stale_owners_publish_is_refused_and_the_new_owners_is_published_with_its_generation(h, caplog):
    old, old_held = _worker(h, "worker-a")
    new, new_held = _worker(h, "worker-b")
    old_held["RS"] = old.take_fence(FENCE, "worker-a")
    prepared = old.prepare("RS", AS_OF)
    plan = old.allocator.allocate(prepared.problem)
    # A rebalance gives the partition to worker-b while worker-a solves (paused, cut off from the broker…).
    new_held["RS"] = new.take_fence(FENCE, "worker-b")
    assert (old_held["RS"].generation, new_held["RS"].generation) == (1, 2)

    with caplog.at_level(logging.WARNING, logger="engine.services.planning"), pytest.raises(Stale, match="stale"):
        old.publish(prepared, plan)
    assert h.outbox("plan.published") == [] and h.outbox("allocation.made") == []
    refusal = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusal == ["plan for RS refused: region RS: the plan's owner worker-a (fence replan:1 generation 1) is "
                       "stale; the database's fence is generation 2 held by worker-b, this worker holds generation 1"]

    prepared = new.prepare("RS", AS_OF)
    outcome = new.publish(prepared, new.allocator.allocate(prepared.problem))
    assert outcome is not None and outcome.made == 6
    assert _owners(h) == {outcome.plan_version: dict(region="RS", fence=FENCE, generation=2, holder="worker-b")}


def test_an_owner_that_gave_the_partition_up_cannot_publish_what_it_prepared_before(h):
    planner, held = _worker(h, "worker-a")
    held["RS"] = planner.take_fence(FENCE, "worker-a")
    prepared = planner.prepare("RS", AS_OF)
    del held["RS"]  # revoked by a rebalance; nobody has taken the fence in the database yet
    with pytest.raises(Stale, match="this worker holds nothing"):
        planner.publish(prepared, planner.allocator.allocate(prepared.problem))
    assert h.outbox("plan.published") == []


def test_a_fenced_planner_does_not_plan_a_region_it_holds_no_fence_for(h):
    planner, _ = _worker(h, "worker-a")
    with pytest.raises(Stale, match="holds no fence for region RS"):
        planner.prepare("RS", AS_OF)


def test_a_holder_keeps_its_generation_when_nobody_took_the_fence_in_between(h):
    a, _ = _worker(h, "worker-a")
    first = a.take_fence(FENCE, "worker-a")
    assert a.take_fence(FENCE, "worker-a", held=first.generation) == first  # a rebalance gave it back to a
    assert a.take_fence(FENCE, "worker-a").generation == 2                  # a restarted a knows no generation
    assert a.take_fence(FENCE, "worker-b", held=2).generation == 3          # another holder always moves it on
    assert a.take_fence("replan:0", "worker-a").generation == 1             # fences are independent


def test_an_unfenced_planner_plans_as_before_and_records_no_owner(h):
    planner = Planner(h.db.uow, CurrentPracticeAllocator(), h.rules)
    prepared = planner.prepare("RS", AS_OF)
    assert prepared.fence is None
    assert planner.publish(prepared, planner.allocator.allocate(prepared.problem)).made == 6
    assert _owners(h) == {}
