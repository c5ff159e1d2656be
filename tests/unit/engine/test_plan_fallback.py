"""A plan that falls back to current practice says so: in the plan (status, note), in an alert that lasts
while the plans keep falling back, cleared by the first plan that is the solver's own (issue 14 §3)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from engine.services.planning import Planner
from solver.baselines import CurrentPracticeAllocator
from tests.support.events import cohort_planned, facilitator, person_with_referral
from tests.unit.engine.harness import Harness


@pytest.fixture
def h(store) -> Harness:
    h = Harness(store)
    lines = [line for i in range(8) for line in person_with_referral(f"X{i:06d}")]
    h.feed(*lines, cohort_planned("C1", date(2025, 3, 3)), facilitator("F1"), facilitator("F2"))
    return h


def publish(h: Harness, as_of: date, fell_back: bool):
    """Publish current practice's plan, as CP-SAT's fallback returns it (status FALLBACK, the reason in the note)
    or as the plan of its own."""
    planner = Planner(h.db.uow, CurrentPracticeAllocator(), h.rules)
    prepared = planner.prepare("RS", as_of)
    plan = planner.allocator.allocate(prepared.problem)
    if fell_back:
        plan = replace(plan, allocator="cpsat", status="FALLBACK", note="no solution within the time limit")
    return planner.publish(prepared, plan)


def open_fallback_alerts(h: Harness) -> dict:
    with h.db.uow() as uow:
        return uow.active_alerts("RS", kinds=["plan.fell_back"])


def test_a_fallback_plan_raises_one_alert_until_a_plan_of_the_solvers_own_clears_it(h):
    first = publish(h, date(2025, 2, 3), fell_back=True)
    assert first.plan.status == "FALLBACK"
    [(alert_id, row)] = open_fallback_alerts(h).items()
    assert alert_id == "plan.fell_back:region:RS" and "since 2025-02-03" in row["reason"]
    assert "no solution within the time limit" in row["reason"]

    publish(h, date(2025, 2, 10), fell_back=True)  # the next week: still the same alert, not a new one
    assert list(open_fallback_alerts(h)) == [alert_id]
    assert len([m for m in h.outbox() if "plan.fell_back" in m["message"]]) == 1

    publish(h, date(2025, 2, 17), fell_back=False)
    assert open_fallback_alerts(h) == {}
    assert [m["event_type"] for m in h.outbox() if "plan.fell_back" in m["message"]] == ["alert.raised", "alert.cleared"]
