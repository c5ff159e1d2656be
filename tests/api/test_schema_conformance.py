"""schemathesis against the app served by uvicorn on 127.0.0.1, on SQLite and PostgreSQL: whatever it sends
within (and around) the OpenAPI document, no answer is a server error and every answer conforms to it.

The schemathesis command runs as a user would run it (its pytest plugin does not work with pytest 9): once
with ids it makes up, once with real ids of the replayed region so that requests reach past the 404s. The
alert workflow's routes change state, so the app serves a copy of the region (or its own PostgreSQL replay).
"""
from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.auth import Role
from tests.api.conftest import copied, replayed
from tests.support.polling import wait_until

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request, region, issuer, tmp_path_factory) -> Iterator[str]:
    """The base URL of the API over the replayed region, served by uvicorn on a free port of 127.0.0.1."""
    if request.param == "sqlite":
        engine = copied(region, tmp_path_factory.mktemp("api-served"))
    else:
        url = request.getfixturevalue("postgres_server").create_database(f"api_{uuid.uuid4().hex[:12]}")
        engine = replayed(url, region.events, tmp_path_factory.mktemp("api-pg") / "out")
    app = create_app(engine, issuer.verifier(), run_jobs=False)  # jobs are queued and read, not solved here
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), timeout=30)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)
    engine.database.dispose()


def real_ids(base: str, headers: dict) -> dict[str, str]:
    cohort = httpx.get(f"{base}/regions/RS/plan", headers=headers, timeout=30).json()["cohorts"][0]
    referral_id = cohort["member_ids"][0]
    crn = httpx.get(f"{base}/referrals/{referral_id}", headers=headers, timeout=30).json()["crn"]
    report = httpx.get(f"{base}/regions/RS/reports", headers=headers, timeout=30).json()["items"][0]
    alert = httpx.get(f"{base}/regions/RS/alerts", headers=headers, timeout=30).json()["items"][0]
    job = httpx.post(f"{base}/regions/RS/what-if", json={}, headers=headers, timeout=30).json()
    return {"region": "RS", "referral_id": referral_id, "cohort_id": cohort["cohort_id"], "crn": crn,
            "as_of": report["as_of"], "table": report["tables"][0]["name"], "alert_id": alert["alert_id"],
            "job_id": job["job_id"]}  # no letter id: a fixed integer defeats schemathesis's out-of-range cases


# A snooze date the document allows may still be refused (422): it must be after the region's date, at most
# 90 days on, which JSON Schema cannot say. Valid snoozes of a real alert also answer 409 once it is resolved.
SNOOZE_ACCEPTANCE = """
# A planner override the document allows may still be refused: 404 for a referral or cohort not in the region,
# 409 for one contradicting another or breaking a rule of the place, 422 for a kind without what it needs.
[[operations]]
include-path-regex = "^/regions/[^/]+/overrides"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-path = "/regions/{region}/alerts/{alert_id}/snooze"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Jobs are bounded: a second queued re-plan of a region answers 409, a region's sixth queued job 429.
[[operations]]
include-path-regex = "^/regions/[^/]+/(replan|what-if|fte-sweep)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "429"]
"""


@pytest.mark.parametrize("ids", ["made up", "real"])
def test_no_server_error_and_every_answer_conforms(served, issuer, tmp_path, ids):
    headers = {"Authorization": f"Bearer {issuer.token(list(Role), ['RS'])}"}
    config = tmp_path / "schemathesis.toml"
    config.write_text(("[parameters]\n" + "".join(f'"path.{name}" = "{value}"\n' for name, value in
                                                  real_ids(served, headers).items()) if ids == "real" else "")
                      + SNOOZE_ACCEPTANCE)
    done = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(config), "run", f"{served}/openapi.json",
         "--header", f"Authorization: {headers['Authorization']}", "--checks", "all", "--max-examples", "25",
         "--seed", "7", "--workers", "1", "--phases", "examples,coverage,fuzzing"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "failures" not in done.stdout.splitlines()[-1], done.stdout[-3000:]
