"""The alert workflow over HTTP, on a copy of the replayed region: each route and transition, its event in the
outbox, the history, the list's state filter, and the problems (404, 409, 422) — problem+json always."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from api.auth import Role
from engine.alerts.workflow import MAX_SNOOZE_DAYS

BASE = "/regions/RS/alerts"


@pytest.fixture(scope="module")
def ops(token) -> dict[str, str]:
    return token(roles=[Role.OPS])


@pytest.fixture(scope="module")
def fresh(writable_client, ops) -> Iterator[str]:
    """Open alerts no test here has acted on yet, one at a time."""
    items = writable_client.get(BASE, params={"limit": 500}, headers=ops).json()["items"]
    return iter([a["alert_id"] for a in items])


def post(client, headers, alert_id: str, action: str, body: dict):
    return client.post(f"{BASE}/{alert_id}/{action}", json=body, headers=headers)


def outbox_payload(client, event_id: str) -> tuple[str, dict]:
    with client.app.state.reader.queries() as q:
        [row] = [r for r in q.outbox() if r["message_id"] == event_id]
    return row["event_type"], json.loads(row["message"])["payload"]


def assert_problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.json()


def test_acknowledge_shows_the_state_history_and_event(writable_client, ops, fresh):
    alert_id = next(fresh)
    answer = post(writable_client, ops, alert_id, "acknowledge", {"note": "asked the PDU for an evening group"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["workflow_state"] == "ACKNOWLEDGED"
    [entry] = body["history"]
    assert (entry["action"], entry["actor"], entry["note"]) == ("acknowledge", "dev-user",
                                                                "asked the PDU for an evening group")
    event_type, payload = outbox_payload(writable_client, entry["event_id"])
    assert event_type == "alert.acknowledged"
    assert (payload["alert_id"], payload["actor"], payload["previous_state"]) == (alert_id, "dev-user", "OPEN")
    assert writable_client.get(f"{BASE}/{alert_id}", headers=ops).json() == body
    assert_problem(post(writable_client, ops, alert_id, "acknowledge", {"note": "again"}), 409)


def test_assign_snooze_and_resolve_in_turn(writable_client, ops, fresh):
    alert_id = next(fresh)
    assigned = post(writable_client, ops, alert_id, "assign", {"user_id": "tm.user-3"}).json()
    assert (assigned["workflow_state"], assigned["assigned_to"]) == ("ASSIGNED", "tm.user-3")
    assert_problem(post(writable_client, ops, alert_id, "assign", {"user_id": "tm.user-3"}), 409)
    until = (date.today() + timedelta(days=14)).isoformat()
    snoozed = post(writable_client, ops, alert_id, "snooze", {"until": until, "note": "training ends"}).json()
    assert (snoozed["workflow_state"], snoozed["snoozed_until"], snoozed["assigned_to"]) == (
        "SNOOZED", until, "tm.user-3")
    resolved = post(writable_client, ops, alert_id, "resolve", {"note": "placed by hand"}).json()
    assert resolved["workflow_state"] == "RESOLVED"
    assert [h["action"] for h in resolved["history"]] == ["assign", "snooze", "resolve"]
    assert outbox_payload(writable_client, resolved["history"][-1]["event_id"])[0] == "alert.resolved"
    problem = assert_problem(post(writable_client, ops, alert_id, "acknowledge", {"note": "late"}), 409)
    assert "RESOLVED" in problem["detail"]


def test_the_list_filters_by_workflow_state(writable_client, ops, fresh):
    alert_id = next(fresh)
    post(writable_client, ops, alert_id, "assign", {"user_id": "tm.user-9"})
    listed = writable_client.get(BASE, params={"state": "ASSIGNED", "limit": 500}, headers=ops).json()["items"]
    assert alert_id in [a["alert_id"] for a in listed]
    assert {a["workflow_state"] for a in listed} == {"ASSIGNED"}
    open_ = writable_client.get(BASE, params={"state": "OPEN", "limit": 500}, headers=ops).json()["items"]
    assert alert_id not in [a["alert_id"] for a in open_] and open_


@pytest.mark.parametrize("action, body, field", [
    ("acknowledge", {"note": "x" * 501}, "body.note"),
    ("acknowledge", {"note": "line\nbreak"}, "body.note"),
    ("acknowledge", {}, "body.note"),
    ("acknowledge", {"note": "ok", "extra": 1}, "body.extra"),
    ("assign", {"user_id": "has spaces"}, "body.user_id"),
    ("snooze", {"until": "2025-13-01"}, "body.until"),
    ("snooze", {"until": (date.today() - timedelta(days=1)).isoformat()}, "body.until"),
    ("snooze", {"until": (date.today() + timedelta(days=MAX_SNOOZE_DAYS + 1)).isoformat()}, "body.until"),
    ("resolve", {"note": ""}, "body.note"),
])
def test_bad_bodies_are_422_naming_the_field(writable_client, ops, fresh, action, body, field):
    alert_id = next(fresh)
    problem = assert_problem(post(writable_client, ops, alert_id, action, body), 422)
    assert [p["name"] for p in problem["invalid_params"]][0] == field
    assert writable_client.get(f"{BASE}/{alert_id}", headers=ops).json()["workflow_state"] == "OPEN"


def test_an_unknown_alert_is_404(writable_client, ops):
    for answer in (post(writable_client, ops, "deadline.at_risk:referral:NOPE", "resolve", {"note": "n"}),
                   writable_client.get(f"{BASE}/deadline.at_risk:referral:NOPE", headers=ops)):
        assert assert_problem(answer, 404)["detail"].startswith("no open alert")


def test_read_may_not_act(writable_client, token, fresh):
    assert_problem(post(writable_client, token(roles=[Role.READ]), next(fresh), "acknowledge", {"note": "n"}), 403)


def test_metrics_count_alerts_by_kind_and_workflow_state(writable_client, ops, fresh):
    def count(kind: str, state: str) -> float:
        line = f'cohortplan_alerts{{kind="{kind}",region="RS",state="{state}"}} '
        found = [ln for ln in writable_client.get("/metrics").text.splitlines() if ln.startswith(line)]
        return float(found[0].split()[-1]) if found else 0.0
    alert_id = next(fresh)
    kind = alert_id.split(":")[0]
    acknowledged, open_ = count(kind, "ACKNOWLEDGED"), count(kind, "OPEN")
    post(writable_client, ops, alert_id, "acknowledge", {"note": "seen"})
    assert (count(kind, "ACKNOWLEDGED"), count(kind, "OPEN")) == (acknowledged + 1, open_ - 1)
