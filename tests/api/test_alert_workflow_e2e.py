"""End to end: a replayed region, its alerts acknowledged through the API, then the next weekly plan and the
alert sweep that follows it (as `cohortplan replay` runs them). Acknowledged alerts stay acknowledged and get
no ``alert.updated`` unless their severity rose; the same plan on an untouched copy of the region shows that
the sweep would have notified changes to some of them."""
from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from engine.alerts.model import Severity
from tests.api.conftest import copied

WEEKS_ON = 4  # plans far enough on that some open alerts' numbers change


def alert_updates(engine, after_id: int) -> dict[str, dict]:
    """The ``alert.updated`` payloads written to the outbox after row ``after_id``, by alert id."""
    q = engine.queries()
    try:
        rows = [r for r in q.outbox() if r["id"] > after_id and r["event_type"] == "alert.updated"]
    finally:
        q.close()
    return {p["alert_id"]: p for p in (json.loads(r["message"])["payload"] for r in rows)}


def last_outbox_id(engine) -> int:
    q = engine.queries()
    try:
        return max((r["id"] for r in q.outbox()), default=0)
    finally:
        q.close()


def next_plans(engine) -> None:
    """The weekly plans (each followed by the alert sweep) the replay would run over the next weeks."""
    planner = engine.planner("current-practice")
    last = planner.last_planned("RS")
    for week in range(1, WEEKS_ON + 1):
        planner.plan("RS", last + timedelta(weeks=week))


def test_acknowledged_alerts_stay_quiet_through_the_next_sweeps_unless_their_severity_rises(
        region, issuer, token, tmp_path):
    acknowledged, control = copied(region, tmp_path / "a"), copied(region, tmp_path / "b")
    try:
        api = TestClient(create_app(acknowledged, issuer.verifier()))
        ops = token(roles=[Role.OPS])
        before = {a["alert_id"]: a for a in api.get("/regions/RS/alerts", params={"limit": 500},
                                                     headers=ops).json()["items"]}
        for alert_id in before:
            answer = api.post(f"/regions/RS/alerts/{alert_id}/acknowledge", json={"note": "seen"}, headers=ops)
            assert answer.status_code == 200, answer.text
        marks = last_outbox_id(acknowledged), last_outbox_id(control)
        next_plans(acknowledged)
        next_plans(control)

        would_notify = {i for i, p in alert_updates(control, marks[1]).items()
                        if i in before and Severity(p["severity"]).rank <= Severity(p["previous_severity"]).rank}
        assert would_notify, "the untouched copy notified no change: this test would prove nothing"
        notified = alert_updates(acknowledged, marks[0])
        assert all(Severity(p["severity"]).rank > Severity(p["previous_severity"]).rank
                   for i, p in notified.items() if i in before), notified
        after = {a["alert_id"]: a for a in api.get("/regions/RS/alerts", params={"limit": 500},
                                                    headers=ops).json()["items"]}
        for alert_id in would_notify & set(after):
            assert after[alert_id]["workflow_state"] == "ACKNOWLEDGED", after[alert_id]
    finally:
        acknowledged.database.dispose()
        control.database.dispose()
