"""Alerts about the whole service (region ``*``: dead letters, conflicting events) through the API: listed, read and
acted on at ``/regions/*/alerts`` by a token whose regions name ``*``, and as unknown as another region to others."""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from engine.alerts.model import ALL_REGIONS
from engine.alerts.rules.dead_letters import KIND as DEAD_LETTERED
from engine.alerts.settings import AlertThresholds
from engine.alerts.sweep import AlertSweep
from engine.services.ingest import RawEvent
from tests.api.conftest import REGION

SERVICE = "/regions/*/alerts"


def test_a_service_alert_is_listed_read_and_acknowledged_by_a_token_naming_star_only(engine_copy, issuer):
    engine_copy.ingestor.process([RawEvent("{broken %d" % n, "test-feed", n) for n in range(3)])
    today = datetime.now(timezone.utc).date()
    AlertSweep(engine_copy.rules, AlertThresholds(dead_letters_per_hour=1)).sweep(engine_copy.database.uow,
                                                                                  REGION, today)
    with engine_copy.database.uow() as uow:
        [alert_id] = [a for a, row in uow.active_alerts(ALL_REGIONS).items() if row["kind"] == DEAD_LETTERED]
    client = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))

    def token(roles, regions):
        return {"Authorization": f"Bearer {issuer.token(roles, regions)}"}

    ops, reader = token([Role.OPS], [REGION, ALL_REGIONS]), token([Role.READ], [ALL_REGIONS])
    listed = client.get(SERVICE, headers=reader)
    assert listed.status_code == 200, listed.text
    assert alert_id in [a["alert_id"] for a in listed.json()["items"]]
    assert all(a["region"] == ALL_REGIONS for a in listed.json()["items"])
    one = client.get(f"{SERVICE}/{alert_id}", headers=reader)
    assert one.status_code == 200 and one.json()["alert_id"] == alert_id, one.text

    acknowledged = client.post(f"{SERVICE}/{alert_id}/acknowledge", json={"note": "producer fixed"}, headers=ops)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["workflow_state"] == "ACKNOWLEDGED"
    assert client.get(f"{SERVICE}/{alert_id}", headers=reader).json()["workflow_state"] == "ACKNOWLEDGED"

    # without ``*`` in its regions, a token finds no such region, as for another region's alerts
    regional = token([Role.OPS, Role.READ], [REGION])
    for answer in (client.get(SERVICE, headers=regional), client.get(f"{SERVICE}/{alert_id}", headers=regional),
                   client.post(f"{SERVICE}/{alert_id}/resolve", json={"note": "x"}, headers=regional)):
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    # ``*`` is the service's alerts only: no waiting list, plan or report, even for a token naming it
    assert client.get("/regions/*/waiting-list", headers=reader).status_code == 404
    assert client.get(f"/regions/{REGION}/alerts", headers=reader).status_code == 404  # and not a wildcard
    # a READ token may look, not act
    assert client.post(f"{SERVICE}/{alert_id}/resolve", json={"note": "x"}, headers=reader).status_code == 403
