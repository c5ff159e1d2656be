"""Issue 12, class 2, outside the freeze window: a place the next plan could still move is removed at once
when a correction makes it break a rule, not left standing until that plan (found by the generative run:
state checked between plans, seed 777). At the start of a plan the planner moves such a person instead."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from engine.domain.statuses import ReferralStatus as S
from engine.invariants import check_region
from tests.support.events import cohort_planned, event, facilitator, person_with_referral
from tests.unit.engine.harness import Harness

START = date(2025, 3, 3)                                  # C1's freeze window opens on 17 February
PLANNED = date(2025, 2, 3)
CORRECTED = datetime(2025, 2, 5, 9, 0, tzinfo=timezone.utc)  # well before the freeze window


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def test_a_movable_plan_place_that_a_correction_makes_unlawful_goes_at_once_with_the_rule_named(h):
    lines = [line for i in range(8) for line in person_with_referral(f"X{i:06d}")]
    h.feed(*lines, cohort_planned("C1", START), facilitator("F1"), facilitator("F2"))
    h.plan(PLANNED)
    placed = h.referral("REF-X000003")
    assert placed.cohort_id == "C1" and placed.status == S.SCHEDULED
    assert not h.allocation("REF-X000003").pinned  # the next plan could still move it

    h.feed(event("person.updated", CORRECTED, crn="X000003", sex="FEMALE"))

    referral = h.referral("REF-X000003")
    assert referral.cohort_id is None and referral.status == S.AWAITING_ALLOCATION
    removed = [json.loads(x["message"])["payload"] for x in h.outbox("allocation.removed")]
    assert [r["referral_id"] for r in removed] == ["REF-X000003"]
    assert "sex" in removed[0]["reason"].lower()
    with h.db.uow() as uow:  # between plans, not only after the next one
        assert check_region(uow, "RS", CORRECTED.date(), h.rules).violations == []
