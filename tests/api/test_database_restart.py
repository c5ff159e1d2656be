"""The API after its PostgreSQL restarts: every request a server process makes keeps two connections of its own
(the state version's and the audit's, engine/persistence/held.py), which the restart cuts. The first requests
after it are answered, not failed: a kept connection found dead is replaced and its work done once more, and each
answered person-level read still has its audit row."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from tests.api.conftest import REGION, replayed
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres


def first_lines(events: Path, n: int, to: Path) -> Path:
    to.write_text("".join(events.read_text().splitlines(keepends=True)[:n]))
    return to


def test_reads_are_answered_and_audited_across_a_postgresql_restart(region, issuer, tmp_path):
    with PostgresServer(durable=True) as server:  # its own (halting the session's would cut every other test's);
        # durable: a crash keeps what was committed before it
        url = server.create_database("api_restart")
        engine = replayed(url, first_lines(region.events, 3000, tmp_path / "events.jsonl"), tmp_path / "out")
        client = TestClient(create_app(engine, issuer.verifier(), run_jobs=False))
        reader = {"Authorization": f"Bearer {issuer.token([Role.READ], [REGION])}",
                  "Cache-Control": "no-cache"}  # answered from the state the request finds, not a kept answer
        path = f"/regions/{REGION}/waiting-list"
        before = client.get(path, headers=reader)
        assert before.status_code == 200 and before.json()["items"], before.text
        referral = f"/referrals/{before.json()['items'][0]['referral_id']}"
        assert client.get(referral, headers=reader).status_code == 200

        server.halt()  # a crash as clients see it: every connection cut
        server.resume()
        after = client.get(path, headers=reader)
        assert after.status_code == 200 and after.json() == before.json(), after.text
        assert client.get(referral, headers=reader).status_code == 200

        with engine.database.uow() as uow:
            crn = before.json()["items"][0]["crn"]
            routes = [r["route"] for r in uow.reads_of(crn)]
        assert routes.count("GET /regions/{region}/waiting-list") == 2, routes
        assert routes.count("GET /referrals/{referral_id}") == 2, routes
        client.app.state.reader.close()
        engine.database.dispose()
