"""Planner overrides over HTTP, on a copy of the replayed region: list, add (201), remove (204), and the refusals:
404 for what another region holds or nobody does, 409 for an override that contradicts one in force or breaks a
rule of the place now, 422 naming the field. Each add and remove is an event in the outbox."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from api.auth import Role

PLANNER = [Role.PLANNER]


@pytest.fixture(scope="module")
def region_facts(writable_client, token) -> dict:
    """The copy's planning date, a cohort that has not started with members holding unpinned places, and
    waiting referrals."""
    plan = writable_client.get("/regions/RS/plan", headers=token()).json()
    as_of = date.fromisoformat(plan["as_of"])
    cohort = next(c for c in plan["cohorts"] if c["member_ids"] and c["status"] == "CONFIRMED"
                  and date.fromisoformat(c["start_date"]) > as_of + timedelta(days=14))
    waiting = writable_client.get("/regions/RS/waiting-list", params={"limit": 500}, headers=token()).json()["items"]
    return {"as_of": as_of, "cohort": cohort, "waiting": [w["referral_id"] for w in waiting]}


def post(client, token, body: dict, roles=PLANNER, region: str = "RS"):
    return client.post(f"/regions/{region}/overrides", json={"reason": "agreed with the treatment manager"} | body,
                       headers=token(roles=roles, regions=[region]))


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def outbox(client, event_type: str) -> list[dict]:
    with client.app.state.engine.database.uow() as uow:
        rows = uow.outbox_after(0, ["programmes.allocations.v1"], 100_000)
    return [json.loads(r["message"]) for r in rows if r["event_type"] == event_type]


def test_a_hold_is_added_listed_for_every_role_and_removed(writable_client, token, region_facts):
    referral = region_facts["waiting"][0]
    until = region_facts["as_of"] + timedelta(days=28)
    created = post(writable_client, token, {"kind": "hold", "referral_id": referral, "until": until.isoformat()})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["referral_id"], body["until"], body["active"]) == ("hold", referral, until.isoformat(), True)
    assert body["override_id"].startswith("ov-") and body["created_by"]
    [added] = [e for e in outbox(writable_client, "override.added") if e["payload"]["override_id"] == body["override_id"]]
    assert added["event_id"] == body["event_id"] and added["key"] == "RS" and added["payload"]["until"] == until.isoformat()
    for role in Role:
        listed = writable_client.get("/regions/RS/overrides", headers=token(roles=[role])).json()
        assert body["override_id"] in [o["override_id"] for o in listed["items"]]
    gone = writable_client.delete(f"/regions/RS/overrides/{body['override_id']}", headers=token(roles=[Role.ADMIN]))
    assert gone.status_code == 204 and gone.content == b""
    listed = writable_client.get("/regions/RS/overrides", headers=token()).json()
    assert body["override_id"] not in [o["override_id"] for o in listed["items"]]
    assert [e["payload"]["override_id"] for e in outbox(writable_client, "override.removed")].count(body["override_id"]) == 1
    again = writable_client.delete(f"/regions/RS/overrides/{body['override_id']}", headers=token(roles=PLANNER))
    assert "no override" in problem_of(again, 404)["detail"]


def test_contradicting_overrides_are_409_naming_the_one_in_force(writable_client, token, region_facts):
    member, cohort = region_facts["cohort"]["member_ids"][0], region_facts["cohort"]["cohort_id"]
    kept = post(writable_client, token, {"kind": "keep", "referral_id": member, "cohort_id": cohort})
    assert kept.status_code == 201, kept.text
    ov = kept.json()["override_id"]
    never = post(writable_client, token, {"kind": "never", "referral_id": member, "cohort_id": cohort})
    assert ov in problem_of(never, 409)["detail"] and "opposite" in never.json()["detail"]
    other = next(c for c in writable_client.get("/regions/RS/plan", headers=token()).json()["cohorts"]
                 if c["cohort_id"] != cohort and c["status"] in ("PROPOSED", "CONFIRMED"))
    twice = post(writable_client, token, {"kind": "keep", "referral_id": member, "cohort_id": other["cohort_id"]})
    assert "one cohort per referral" in problem_of(twice, 409)["detail"]
    hold = post(writable_client, token, {"kind": "hold", "referral_id": member,
                                         "until": (region_facts["as_of"] + timedelta(days=7)).isoformat()})
    assert ov in problem_of(hold, 409)["detail"]
    writable_client.delete(f"/regions/RS/overrides/{ov}", headers=token(roles=PLANNER))


def test_a_keep_that_breaks_a_safety_rule_is_409_naming_the_rule(writable_client, token, region_facts):
    cohort = region_facts["cohort"]
    refusals = [post(writable_client, token, {"kind": "keep", "referral_id": rid, "cohort_id": cohort["cohort_id"]})
                for rid in region_facts["waiting"][:40]]
    details = [problem_of(r, 409)["detail"] for r in refusals if r.status_code == 409]
    assert details and all(" breaks " in d or "locked" in d or "started" in d for d in details)
    assert any("offence-cohort" in d or "sex:" in d or "programme:" in d for d in details)
    for r in refusals:
        if r.status_code == 201:
            writable_client.delete(f"/regions/RS/overrides/{r.json()['override_id']}", headers=token(roles=PLANNER))


def test_a_finished_or_cancelled_cohort_takes_no_override(writable_client, token):
    with writable_client.app.state.engine.database.uow() as uow:
        done = [c.cohort_id for c in uow.cohorts.where(region_code="RS", status=["COMPLETED", "CANCELLED"])]
    if not done:
        pytest.skip("the replayed region has no finished or cancelled cohort")
    refused = post(writable_client, token, {"kind": "lock", "cohort_id": done[0]})
    assert "nothing left to plan" in problem_of(refused, 409)["detail"]


@pytest.mark.parametrize("body,field", [
    ({"kind": "keep", "referral_id": "REF-000001"}, "body.cohort_id"),
    ({"kind": "lock", "cohort_id": "C1", "referral_id": "REF-000001"}, "body.referral_id"),
    ({"kind": "hold", "referral_id": "REF-000001"}, "body.until"),
    ({"kind": "hold", "referral_id": "REF-000001", "until": "2001-01-01"}, "body.until"),
    ({"kind": "pause", "referral_id": "REF-000001"}, "body.kind"),
    ({"kind": "never", "referral_id": "REF 1", "cohort_id": "C1"}, "body.referral_id"),
    ({"kind": "lock", "cohort_id": "C1", "reason": "x" * 501}, "body.reason"),
    ({"kind": "lock", "cohort_id": "C1", "reason": "two\nlines"}, "body.reason"),
    ({"kind": "lock", "cohort_id": "C1", "reason": ""}, "body.reason"),
])
def test_bad_input_is_422_naming_the_field(writable_client, token, body, field):
    answer = problem_of(post(writable_client, token, body), 422)
    assert field in [p["name"] for p in answer["invalid_params"]], answer


def test_unknown_or_other_regions_ids_are_404_and_readers_may_not_act(writable_client, token, region_facts):
    unknown = post(writable_client, token, {"kind": "never", "referral_id": "REF-NOPE", "cohort_id": "C-NOPE"})
    assert "no referral" in problem_of(unknown, 404)["detail"]
    cohort = post(writable_client, token, {"kind": "lock", "cohort_id": "C-NOPE"})
    assert "no cohort" in problem_of(cohort, 404)["detail"]
    elsewhere = post(writable_client, token, {"kind": "lock", "cohort_id": region_facts["cohort"]["cohort_id"]},
                     region="RW")
    assert problem_of(elsewhere, 404)["known"] == []
    assert problem_of(post(writable_client, token, {"kind": "lock", "cohort_id": "C-NOPE"}, roles=[Role.READ]),
                      403)
    assert problem_of(writable_client.delete("/regions/RS/overrides/ov-999999", headers=token(roles=PLANNER)), 404)
    assert problem_of(writable_client.delete("/regions/RS/overrides/ov-000001", headers=token(roles=[Role.OPS])), 403)


def test_the_list_is_paginated_and_says_the_total(writable_client, token, region_facts):
    made = [post(writable_client, token, {"kind": "hold", "referral_id": rid, "until": (
        region_facts["as_of"] + timedelta(days=14)).isoformat()}) for rid in region_facts["waiting"][-3:]]
    assert [m.status_code for m in made] == [201, 201, 201]
    page = writable_client.get("/regions/RS/overrides", params={"limit": 2, "offset": 1}, headers=token()).json()
    assert page["total"] >= 3 and len(page["items"]) == 2 and page["offset"] == 1
    ids = [o["override_id"] for o in writable_client.get("/regions/RS/overrides", headers=token()).json()["items"]]
    assert ids == sorted(ids)
    for m in made:
        writable_client.delete(f"/regions/RS/overrides/{m.json()['override_id']}", headers=token(roles=PLANNER))


def test_a_method_the_path_does_not_serve_is_405_listing_every_method_it_does(writable_client):
    """The list and the add share a path: a 405 names both (Starlette alone names the first route's)."""
    answer = writable_client.request("PUT", "/regions/RS/overrides")
    assert problem_of(answer, 405) and answer.headers["allow"] == "GET, POST"
