"""A service plan in three steps: snapshot, solve elsewhere, publish onto the state as it is then."""
from __future__ import annotations

from datetime import date

import pytest

from engine.domain.model import Office
from engine.state_keys import DIRTY
from engine.services.planning import Planner, Stale
from solver.baselines import CurrentPracticeAllocator
from tests.support.events import cohort_planned, facilitator, person_with_referral
from tests.unit.engine.harness import Harness

AS_OF = date(2025, 2, 3)


def _region(store, people: int, *cohorts: str) -> Harness:
    """``people`` referrals waiting for BC-M, two facilitators, one group room, and ``cohorts``."""
    h = Harness(store)
    h.feed(*[line for i in range(people) for line in person_with_referral(f"X{i:06d}")],
           facilitator("F1"), facilitator("F2"), *cohorts)
    with h.db.uow() as uow:
        uow.save_offices("RS", [Office("RS-P01-O1", "RS-P01", rooms=1)])
        uow.commit()
    return h


@pytest.fixture
def h(store) -> Harness:
    return _region(store, 8, cohort_planned("C1", date(2025, 3, 3)))


def _planner(h: Harness) -> Planner:
    return Planner(h.db.uow, CurrentPracticeAllocator(), h.rules)


def _dirty(h: Harness) -> str | None:
    with h.db.uow() as uow:
        return uow.get_state(DIRTY.key("RS"))


def test_prepare_solve_publish_equals_one_plan_when_nothing_changed(h):
    planner = _planner(h)
    assert planner.dirty_regions() == ["RS"]
    prepared = planner.prepare("RS", AS_OF)
    outcome = planner.publish(prepared, planner.allocator.allocate(prepared.problem))
    assert outcome is not None and outcome.made == 8
    assert planner.dirty_regions() == [] and _dirty(h) == "0"
    other = Harness()
    other.feed(*[line for i in range(8) for line in person_with_referral(f"X{i:06d}")],
               facilitator("F1"), facilitator("F2"), cohort_planned("C1", date(2025, 3, 3)))
    with other.db.uow() as uow:
        uow.save_offices("RS", [Office("RS-P01-O1", "RS-P01", rooms=1)])
        uow.commit()
    assert _planner(other).plan("RS", AS_OF).plan.assignments == outcome.plan.assignments


def test_a_referral_arriving_during_the_solve_waits_for_the_next_plan_and_keeps_the_region_dirty(h):
    planner = _planner(h)
    prepared = planner.prepare("RS", AS_OF)
    plan = planner.allocator.allocate(prepared.problem)
    h.feed(*person_with_referral("X000100"))  # applied while the solver ran
    outcome = planner.publish(prepared, plan)
    assert outcome is not None and outcome.made == 8
    pending = [u for u in outcome.plan.unallocated if u.referral_id == "REF-X000100"]
    assert [u.reason for u in pending] == ["PENDING"]
    assert "rebased over 1 referral" in outcome.plan.note
    assert planner.dirty_regions() == ["RS"]  # the next plan is still owed
    assert _planner(h).plan("RS", AS_OF).made == 1


def test_a_plan_whose_basis_moved_is_not_published(h):
    planner = _planner(h)
    prepared = planner.prepare("RS", AS_OF)
    plan = planner.allocator.allocate(prepared.problem)
    planner.plan("RS", AS_OF)  # another worker published first
    with pytest.raises(Stale, match="was planned"):
        planner.publish(prepared, plan)
    assert len(h.outbox("plan.published")) == 1


def test_a_plan_that_no_longer_fits_the_state_is_dropped(h):
    from tests.support.events import event
    planner = _planner(h)
    prepared = planner.prepare("RS", AS_OF)
    plan = planner.allocator.allocate(prepared.problem)
    assert plan.cohort_of("REF-X000000") == "C1"
    assert h.feed(event("cohort.cancelled", key="RS", cohort_id="C1", reason="room flooded")).applied == 1
    assert planner.publish(prepared, plan) is None
    assert h.outbox("plan.published") == [] and planner.dirty_regions() == ["RS"]


def test_each_move_of_a_published_place_is_counted_and_the_next_problem_carries_it(store):
    """Issue 14 (a cap on changes per person): the publisher counts every allocation.changed per referral in
    the state table (moves:<referral>), and the next problem's demand carries the count for the cap."""
    from engine.services.problem import build_problem
    from engine.state_keys import MOVES
    from solver.model import CpSatAllocator
    from solver.schema import Params
    h = _region(store, 6, cohort_planned("LATE", date(2025, 9, 1)))
    params = Params(time_limit_s=2)
    planner = Planner(h.db.uow, CpSatAllocator(), h.rules, params)
    assert planner.plan("RS", AS_OF).made == 6
    h.feed(cohort_planned("SOONER", date(2025, 3, 3)))  # 26 weeks sooner: worth moving everyone
    moved = planner.plan("RS", AS_OF).changed
    assert moved == 6 == len(h.outbox("allocation.changed"))
    with h.db.uow() as uow:
        assert {name: value for name, value in uow.states(MOVES.prefix).items()} == {
            MOVES.key(f"REF-X{i:06d}"): "1" for i in range(6)}
        demands = build_problem(uow, "RS", AS_OF, h.rules, params).problem.demands
    assert {d.referral_id: d.moves for d in demands} == {f"REF-X{i:06d}": 1 for i in range(6)}
