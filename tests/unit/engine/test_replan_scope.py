"""Issue 14 §2: a service re-plan frees only the programmes whose waiting people changed since its last publish;
a new date, a change to facilitators, offices or cohorts, or a worker that kept nothing plans the whole region."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.domain.model import Office
from engine.services.planning import Planner
from solver.model import CpSatAllocator
from tests.support.events import cohort_planned, facilitator, person_with_referral
from tests.unit.engine.harness import Harness

AS_OF = date(2025, 2, 3)


@pytest.fixture
def h(store) -> Harness:
    """Five waiting for BC-M and five for BBR, facilitators trained in both, one running cohort of each."""
    h = Harness(store)
    h.feed(*[line for i in range(5) for line in person_with_referral(f"M{i:06d}")],
           *[line for i in range(5) for line in person_with_referral(f"B{i:06d}", programme="BBR")],
           facilitator("F1", programmes=("BC-M", "BBR")), facilitator("F2", programmes=("BC-M", "BBR")),
           cohort_planned("C1", date(2025, 3, 3), min_size=3),
           cohort_planned("C2", date(2025, 3, 11), programme="BBR", slots=((1, "10:00"), (3, "10:00")), min_size=3))
    with h.db.uow() as uow:
        uow.save_offices("RS", [Office("RS-P01-O1", "RS-P01", rooms=2)])
        uow.commit()
    return h


def replan(planner: Planner, as_of: date = AS_OF):
    prepared, scope = planner.prepare_next("RS", as_of)
    outcome = planner.publish(prepared, planner.allocator.allocate(prepared.problem))
    assert outcome is not None and not outcome.rejected
    return prepared, scope, outcome


def cells(prepared) -> set[str] | None:
    focus = prepared.problem.params.focus
    return None if focus is None else {programme for programme, _ in focus}


def test_an_arrival_re_plans_only_its_programme_within_the_re_plan_budget(h):
    planner = Planner(h.db.uow, CpSatAllocator(), h.rules, replan_time_limit_s=0.5)
    first, scope, outcome = replan(planner)
    assert scope.full and cells(first) is None and outcome.made == 10
    h.feed(*person_with_referral("B000100", programme="BBR"))
    prepared, scope, outcome = replan(planner)
    assert not scope.full and scope.programmes == {"BBR"} and cells(prepared) == {"BBR"}
    assert prepared.problem.params.time_limit_s == 0.5
    assert "BBR" in scope.why and outcome.made == 1 and outcome.changed == 0 and outcome.removed == 0
    assert planner.dirty_regions() == []


def test_nothing_changed_frees_nothing(h):
    planner = Planner(h.db.uow, CpSatAllocator(), h.rules)
    replan(planner)
    prepared, scope = planner.prepare_next("RS", AS_OF)
    assert scope.programmes == frozenset() and cells(prepared) == set()


def test_a_new_date_a_facilitator_change_or_a_fresh_worker_plans_the_whole_region(h):
    planner = Planner(h.db.uow, CpSatAllocator(), h.rules)
    replan(planner)
    _, scope = planner.prepare_next("RS", AS_OF + timedelta(days=1))
    assert scope.full and "new planning date" in scope.why
    h.feed(facilitator("F3", programmes=("BBR",)))
    _, scope = planner.prepare_next("RS", AS_OF)
    assert scope.full and "facilitators changed" in scope.why
    _, scope = Planner(h.db.uow, CpSatAllocator(), h.rules).prepare_next("RS", AS_OF)
    assert scope.full and "no plan published" in scope.why
