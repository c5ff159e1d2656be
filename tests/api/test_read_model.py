"""The read model (api/read_model.py): the waiting list and the alert list are computed once per state version,
and never served from a state older than the one a request found, nor redacted for one caller and shown to another.

Each step compares the app that keeps answers with a fresh app over the same database (which has kept nothing).
"""
from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from engine.services.ingest import RawEvent
from tests.api.conftest import REGION, deprioritise, event

WAITING, ALERTS = "/regions/RS/waiting-list", "/regions/RS/alerts"
EVERYTHING = {"limit": 500}


def test_a_new_event_an_alert_action_and_a_plan_each_invalidate_the_kept_lists(engine_copy, issuer):
    kept = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))
    model = kept.app.state.reader.model
    reader = {"Authorization": f"Bearer {issuer.token([Role.READ], [REGION])}"}
    ops = {"Authorization": f"Bearer {issuer.token([Role.OPS], [REGION])}"}

    def same_as_fresh(path: str, params: dict | None = None, asking: dict | None = None) -> dict:
        answer = kept.get(path, params=params or EVERYTHING, headers={**reader, **(asking or {})})
        fresh = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))
        assert answer.status_code == 200, answer.text
        assert answer.json() == fresh.get(path, params=params or EVERYTHING, headers=reader).json()
        assert "age" not in answer.headers  # computed at the state the request found, or kept under its marks
        return answer.json()

    waiting, alerts = same_as_fresh(WAITING), same_as_fresh(ALERTS)
    computed = model.computed
    assert kept.get(WAITING, params=EVERYTHING, headers=reader).json() == waiting  # kept: nothing computed again
    assert kept.get(WAITING, params={"limit": 5, "offset": 3}, headers=reader).json()["items"] \
        == waiting["items"][3:8]
    assert kept.get(ALERTS, params=EVERYTHING, headers=reader).json() == alerts
    assert model.computed == computed

    # an event (the worker's write): served behind it for a while, saying how long (Age), while it is computed
    # again off the request; a caller who asks for the state as it is now (no-cache) finds it gone at once
    gone = waiting["items"][0]
    deprioritise(engine_copy, gone)
    behind = kept.get(WAITING, params=EVERYTHING, headers=reader)
    assert behind.json() == waiting and int(behind.headers["age"]) >= 0
    after = same_as_fresh(WAITING, asking={"Cache-Control": "no-cache"})
    assert after["total"] == waiting["total"] - 1
    assert gone["referral_id"] not in {i["referral_id"] for i in after["items"]}

    # an alert action (through the API): the list shows its new workflow state at once, whatever the caller asks
    alert = alerts["items"][0]
    acted = kept.post(f"/regions/RS/alerts/{alert['alert_id']}/acknowledge", json={"note": "seen"}, headers=ops)
    assert acted.status_code == 200, acted.text
    listed = {a["alert_id"]: a for a in same_as_fresh(ALERTS)["items"]}
    assert listed[alert["alert_id"]]["workflow_state"] == "ACKNOWLEDGED"

    # a plan (and its alert sweep): the waiting list counts from the new planning date
    planner = engine_copy.planner("current-practice")
    next_week = planner.last_planned(REGION) + timedelta(weeks=1)
    planner.plan(REGION, next_week)
    now = {"Cache-Control": "max-age=0"}
    assert same_as_fresh(WAITING, asking=now)["as_of"] == next_week.isoformat()
    same_as_fresh(ALERTS, asking=now)
    same_as_fresh(WAITING, {"at_risk": "true", "limit": 7}, asking=now)


def test_a_restricted_case_stays_restricted_for_each_caller_whoever_read_the_list_first(engine_copy, issuer):
    client = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))
    allowed, other = "pp.allowed-1", "tm.other-3"

    def as_user(user: str) -> dict:
        return {"Authorization": f"Bearer {issuer.token([Role.READ], [REGION], subject=user)}"}

    waiting = client.get(WAITING, params=EVERYTHING, headers=as_user(other)).json()["items"]
    alerts = client.get(ALERTS, params=EVERYTHING, headers=as_user(other)).json()["items"]
    about_person = next(a for a in alerts if a["subject_type"] == "referral" and "/" not in a["subject_id"])
    crn = client.get(f"/referrals/{about_person['subject_id']}", headers=as_user(other)).json()["crn"]
    row = next(w for w in waiting if w["crn"] != crn)
    rules = [RawEvent(event("person.updated", person, {"crn": person, "limited_access": {
        "restrictions": [allowed], "exclusions": []}}, version=2), "test", n) for n, person in enumerate((crn, row["crn"]))]
    assert engine_copy.ingestor.process(rules).applied == 2

    def shown(user: str) -> tuple[dict, dict]:
        items = client.get(WAITING, params=EVERYTHING, headers=as_user(user)).json()["items"]
        listed = client.get(ALERTS, params=EVERYTHING, headers=as_user(user)).json()["items"]
        return (next(w for w in items if w["referral_id"] == row["referral_id"]),
                next(a for a in listed if a["alert_id"] == about_person["alert_id"]))

    for user in (other, allowed, other, allowed, other):  # each reads after the other warmed the lists
        entry, alert = shown(user)
        if user == allowed:
            assert entry == row and alert["kind"] == about_person["kind"] and "restricted" not in alert
        else:
            assert entry == {"restricted": True, "detail": "Restricted", "referral_id": row["referral_id"],
                             "crn": row["crn"]}
            assert alert == {"restricted": True, "detail": "Restricted", "alert_id": about_person["alert_id"],
                             "region": REGION}
