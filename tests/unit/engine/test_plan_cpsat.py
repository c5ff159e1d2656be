"""The CP-SAT allocator behind the real planner: it opens grid cohorts, stores them, and stays stable."""
from __future__ import annotations

import json
from datetime import date

import pytest

from engine.domain.model import CohortStatus, Office
from engine.services.candidates import Grid
from engine.services.planning import Planner
from solver import schema as s
from solver.model import CpSatAllocator
from tests.support.events import facilitator, person_with_referral
from tests.unit.engine.harness import Harness

AS_OF = date(2025, 2, 3)


@pytest.fixture
def h(store) -> Harness:
    h = Harness(store)
    h.feed(*[line for i in range(8) for line in person_with_referral(f"X{i:06d}")],
           facilitator("F1"), facilitator("F2"))
    with h.db.uow() as uow:
        uow.save_offices("RS", [Office("RS-P01-O1", "RS-P01", rooms=1), Office("RS-P01-O2", "RS-P01")])
        uow.commit()
    return h


def planner(h: Harness) -> Planner:
    return Planner(h.db.uow, CpSatAllocator(), h.rules, s.Params(time_limit_s=5, workers=1), Grid())


def test_with_nothing_planned_the_solver_opens_a_grid_cohort_and_places_everyone(h):
    outcome = planner(h).plan("RS", AS_OF)
    assert outcome.plan.status in ("OPTIMAL", "FEASIBLE") and outcome.opened == 1
    assert outcome.made == 8 and not outcome.plan.unallocated
    cohort_id = outcome.plan.opened[0].cohort_id
    with h.db.uow() as uow:
        stored = uow.cohorts.get(cohort_id)
    assert stored is not None and stored.status == CohortStatus.CONFIRMED and stored.origin == "PLAN"
    assert stored.office_code == "RS-P01-O1" and set(stored.facilitator_ids) == {"F1", "F2"}
    proposed = [json.loads(m["message"])["payload"] for m in h.outbox("cohort.proposed")]
    assert [p["cohort_id"] for p in proposed] == [cohort_id]
    assert h.allocation("REF-X000000").cohort_id == cohort_id


def test_a_second_plan_the_next_day_changes_nothing(h):
    first = planner(h).plan("RS", AS_OF)
    second = planner(h).plan("RS", date(2025, 2, 4))
    assert second.made == second.changed == second.removed == second.opened == 0
    assert {a.cohort_id for a in second.plan.assignments} == {first.plan.opened[0].cohort_id}


def test_a_dry_run_publishes_nothing(h):
    snapshot, plan = planner(h).dry_run("RS", AS_OF)
    assert len(plan.assignments) == 8 and snapshot.grid
    assert h.outbox() == [] and h.allocation("REF-X000000") is None


def test_an_incremental_replan_after_a_new_referral_places_them_and_moves_nobody_else(h):
    first = planner(h).plan("RS", AS_OF)
    h.feed(*person_with_referral("X000100"))
    again = planner(h).plan("RS", date(2025, 2, 5), programmes={"BC-M"})
    assert again.plan.cohort_of("REF-X000100") == first.plan.opened[0].cohort_id
    assert again.made == 1 and again.changed == again.removed == 0


def test_an_incremental_replan_of_another_programme_leaves_this_one_alone(h):
    planner(h).plan("RS", AS_OF)
    h.feed(*person_with_referral("X000100"))
    again = planner(h).plan("RS", date(2025, 2, 5), programmes={"BBR"})
    assert again.plan.cohort_of("REF-X000100") is None and again.made == 0
