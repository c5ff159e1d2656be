"""Re-plans, what-ifs and FTE sweeps as jobs: queued with 202 and a Location, run by the app's runner off the
request (the solver in its worker process), read by the readers of the job's region, kept across a restart."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from engine.services.jobs import JobRunner
from tests.support.polling import wait_until

PLANNER = [Role.PLANNER]


@pytest.fixture
def engine(engine_copy):
    return engine_copy


def served(engine, issuer, run_jobs: bool = True) -> TestClient:
    return TestClient(create_app(engine, issuer.verifier(), run_jobs=run_jobs))


def finished(client: TestClient, location: str, headers: dict) -> dict:
    """The job at ``location`` once it has finished."""
    def done():
        job = client.get(location, headers=headers).json()
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None
    return wait_until(done, timeout=120, interval=0.2)


def test_a_replan_is_a_job_that_publishes_through_the_planning_service_and_the_outbox(engine, issuer, token):
    with served(engine, issuer) as client:
        before = client.get("/regions/RS/plan", headers=token()).json()["plan_version"]
        queued = client.post("/regions/RS/replan", json={"time_limit_s": 2}, headers=token(PLANNER))
        assert queued.status_code == 202 and queued.headers["location"] == f"/jobs/{queued.json()['job_id']}"
        assert queued.json()["status"] == "QUEUED" and queued.json()["submitted_by"] == "dev-user"
        job = finished(client, queued.headers["location"], token())
        plan = client.get("/regions/RS/plan", headers=token()).json()
    assert job["status"] == "SUCCEEDED", job["error"]
    assert job["started_at"] >= job["submitted_at"] and job["finished_at"] >= job["started_at"]
    assert job["result"]["published"] and job["result"]["plan_version"] == plan["plan_version"] > before
    assert plan["allocator"] == job["result"]["allocator"] == "cpsat"
    published = [json.loads(m["message"])["payload"]["plan_version"] for m in engine.queries().outbox()
                 if m["event_type"] == "plan.published"]
    assert published[-1] == plan["plan_version"]


def test_a_what_if_and_a_sweep_answer_their_comparison_and_write_nothing(engine, issuer, token):
    with served(engine, issuer) as client:
        plan = client.get("/regions/RS/plan", headers=token()).json()["plan_version"]
        what_if = client.post("/regions/RS/what-if", json={"allocator": "fifo", "demand_factor": 1.2},
                              headers=token([Role.ADMIN]))
        sweep = client.post("/regions/RS/fte-sweep", json={"allocator": "fifo", "target_miss_pct": 50, "max_fte": 2},
                            headers=token(PLANNER))
        compared = finished(client, what_if.headers["location"], token())
        swept = finished(client, sweep.headers["location"], token())
        assert client.get("/regions/RS/plan", headers=token()).json()["plan_version"] == plan
    assert compared["status"] == "SUCCEEDED" and compared["result"]["scenario"]["demand_factor"] == 1.2
    assert compared["result"]["scenario_outcome"]["demands"] > compared["result"]["baseline"]["demands"]
    assert swept["status"] == "SUCCEEDED" and swept["result"]["target_miss_pct"] == 50 and swept["result"]["steps"]


def test_a_what_if_the_region_cannot_take_fails_with_a_clear_error(engine, issuer, token):
    with served(engine, issuer) as client:
        queued = client.post("/regions/RS/what-if", json={"allocator": "fifo", "add_facilitators": {"NOPDU": 1}},
                             headers=token(PLANNER))
        job = finished(client, queued.headers["location"], token())
    assert job["status"] == "FAILED" and "NOPDU" in job["error"] and job["result"] is None


def test_a_job_is_read_by_its_region_only(engine, issuer, token):
    client = served(engine, issuer, run_jobs=False)
    location = client.post("/regions/RS/what-if", json={}, headers=token(PLANNER)).headers["location"]
    assert client.get(location, headers=token([Role.READ])).json()["status"] == "QUEUED"
    elsewhere = client.get(location, headers=token([Role.ADMIN], regions=["RW"]))
    assert elsewhere.status_code == 404 and elsewhere.json()["detail"].startswith("no job")


def test_a_second_queued_replan_is_refused_409_naming_the_first_and_the_queue_is_bounded(engine, issuer, token):
    client = served(engine, issuer, run_jobs=False)
    first = client.post("/regions/RS/replan", headers=token(PLANNER))
    again = client.post("/regions/RS/replan", json={}, headers=token([Role.ADMIN]))
    assert first.status_code == 202 and again.status_code == 409
    assert again.headers["location"] == first.headers["location"] and first.json()["job_id"] in again.json()["detail"]
    answers = [client.post("/regions/RS/what-if", json={}, headers=token(PLANNER)).status_code for _ in range(5)]
    assert answers == [202, 202, 202, 202, 429]
    assert client.post("/regions/RS/what-if", json={}, headers=token(PLANNER)).headers["retry-after"] == "30"


def test_queued_jobs_survive_a_restart_and_a_job_its_dead_runner_left_running_is_failed_visibly(
        engine, issuer, token):
    before = served(engine, issuer, run_jobs=False)
    waiting = before.post("/regions/RS/what-if", json={"allocator": "fifo"}, headers=token(PLANNER))
    stuck = before.post("/regions/RS/fte-sweep", json={"target_miss_pct": 5}, headers=token(PLANNER)).json()
    abandoned = engine.jobs().claim("dead-host:1:x", datetime.now(timezone.utc) - timedelta(minutes=5))
    assert abandoned["job_id"] == waiting.json()["job_id"]  # the oldest: claimed by a process that then died
    engine.jobs().finish(stuck["job_id"], datetime.now(timezone.utc), error="not run here")
    again = before.post("/regions/RS/what-if", json={"allocator": "fifo"}, headers=token(PLANNER))

    assert JobRunner(engine, engine.jobs()).run_once()  # a restarted API's runner
    dead = before.get(waiting.headers["location"], headers=token()).json()
    assert dead["status"] == "FAILED" and "dead-host:1:x" in dead["error"] and "submit it again" in dead["error"]
    assert before.get(again.headers["location"], headers=token()).json()["status"] == "SUCCEEDED"
