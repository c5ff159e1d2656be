"""End to end: a replayed region, planner overrides added through the API, then a re-plan run the way the worker
runs one (prepare the snapshot, solve it, publish onto the state now). The published plan honours every override
and the explanations — the API's and the plan's own — name them."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from engine.bootstrap import bootstrap
from tests.api.conftest import copied

PLANNER = {"roles": [Role.PLANNER]}


@pytest.fixture
def planned_copy(region, issuer, tmp_path):
    """The replayed region on a copy, its API, and an engine over the same copy whose CP-SAT plans take 3 s."""
    engine = copied(region, tmp_path)
    fast = bootstrap(engine.settings.model_copy(update={"solver_time_limit_s": 3.0, "allocator": "cpsat"}))
    yield engine, fast, TestClient(create_app(engine, issuer.verifier()))
    fast.database.dispose()
    engine.database.dispose()


def replan_as_the_worker_does(engine):
    """streams.service.EngineService.replan without the event loop: snapshot, solve, publish."""
    planner = engine.planner()
    as_of = max(planner.clock().date(), planner.last_planned("RS"))
    prepared = planner.prepare("RS", as_of)
    plan = planner.allocator.allocate(prepared.problem)
    assert plan.status != "FALLBACK", plan.note  # CP-SAT planned it itself, overrides and all
    outcome = planner.publish(prepared, plan)
    assert outcome is not None and not outcome.rejected, outcome and outcome.rejected
    return outcome


def first_created(api, token, bodies):
    """Post each body in turn; the first the API accepts (201). Others are 409: a fixed place, say."""
    for body in bodies:
        answer = api.post("/regions/RS/overrides", json={"reason": "agreed at the case review"} | body,
                          headers=token(**PLANNER))
        if answer.status_code == 201:
            return answer.json()
        assert answer.status_code == 409, answer.text
    pytest.fail(f"no override accepted among {bodies}")


def test_overrides_added_through_the_api_are_honoured_by_the_next_plan_and_named_by_its_explanations(
        planned_copy, token):
    engine, fast, api = planned_copy
    read = token()
    plan = api.get("/regions/RS/plan", headers=read).json()
    as_of = date.fromisoformat(plan["as_of"])
    movable = [c for c in plan["cohorts"] if c["member_ids"] and c["status"] == "CONFIRMED"
               and date.fromisoformat(c["start_date"]) > as_of + timedelta(days=14)]
    proposed = [c for c in plan["cohorts"] if c["status"] == "PROPOSED" and date.fromisoformat(c["start_date"]) > as_of]
    assert movable and proposed, "the replayed region has people on cohorts not yet frozen, and proposed cohorts"
    held_from, locked = movable[0], proposed[0]
    until = as_of + timedelta(days=42)
    hold = first_created(api, token, [{"kind": "hold", "referral_id": rid, "until": until.isoformat()}
                                      for rid in held_from["member_ids"]])
    lock = first_created(api, token, [{"kind": "lock", "cohort_id": locked["cohort_id"]}])
    waiting = api.get("/regions/RS/waiting-list", params={"limit": 1}, headers=read).json()["items"][0]
    never = first_created(api, token, [{"kind": "never", "referral_id": waiting["referral_id"],
                                        "cohort_id": c["cohort_id"]} for c in plan["cohorts"]])
    members_before = set(locked["member_ids"])

    outcome = replan_as_the_worker_does(fast)

    held = hold["referral_id"]
    assert outcome.plan.cohort_of(held) is None
    [why] = [u for u in outcome.plan.unallocated if u.referral_id == held]
    assert why.detail == f"held out of planning by override {hold['override_id']} until {until}"
    after = api.get(f"/regions/RS/cohorts/{locked['cohort_id']}", headers=read).json()
    assert set(after["member_ids"]) == members_before, "a locked cohort: nobody joins or leaves"
    assert outcome.plan.cohort_of(never["referral_id"]) != never["cohort_id"]

    referral = api.get(f"/referrals/{held}", headers=read).json()
    assert hold["override_id"] in referral["explanation"]["reason"]  # the plan's reason for taking the place
    assert f"held out of planning by override {hold['override_id']} until {until}" in referral["explanation"]["notes"]
    never_notes = api.get(f"/referrals/{never['referral_id']}", headers=read).json()["explanation"]["notes"]
    assert f"never on {never['cohort_id']} by override {never['override_id']}" in never_notes
    removed = [json.loads(r["message"])["payload"] for r in fast.queries().outbox()
               if r["event_type"] == "allocation.removed"]
    assert any(p["referral_id"] == held and hold["override_id"] in p["reason"] for p in removed)


def test_an_override_that_became_unsafe_is_set_aside_by_the_plan_and_said_so(planned_copy, token):
    """A keep made while it was safe; then the person's record is corrected (recorded as a woman, the group is for
    men). The plan does not keep her there (the safety rule wins), and its note, the override list and the
    explanation say why — never a silent drop."""
    engine, fast, api = planned_copy
    read = token()
    plan = api.get("/regions/RS/plan", headers=read).json()
    as_of = date.fromisoformat(plan["as_of"])
    cohort = next(c for c in plan["cohorts"] if c["member_ids"] and c["status"] == "CONFIRMED" and c["sex"] == "MALE"
                  and date.fromisoformat(c["start_date"]) > as_of + timedelta(days=14))
    keep = first_created(api, token, [{"kind": "keep", "referral_id": rid, "cohort_id": cohort["cohort_id"]}
                                      for rid in cohort["member_ids"]])
    with fast.database.uow() as uow:  # the correction, as a person.updated would make it
        uow.people.get(uow.referrals.get(keep["referral_id"]).crn).sex = "FEMALE"
        uow.commit()

    outcome = replan_as_the_worker_does(fast)

    assert outcome.plan.cohort_of(keep["referral_id"]) != cohort["cohort_id"]
    assert f"override {keep['override_id']}" in outcome.plan.note and "set aside" in outcome.plan.note
    listed = {o["override_id"]: o for o in api.get("/regions/RS/overrides", headers=read).json()["items"]}
    assert any("does not take them" in why for why in listed[keep["override_id"]]["set_aside"])
    notes = api.get(f"/referrals/{keep['referral_id']}", headers=read).json()["explanation"]["notes"]
    assert any(keep["override_id"] in n and "set aside" in n for n in notes)
    [alert] = api.get("/regions/RS/alerts", params={"kind": "override.set_aside"}, headers=read).json()["items"]
    assert keep["override_id"] in alert["reason"] and alert["severity"] == "WARNING"
