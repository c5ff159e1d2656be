"""Answers behind the worker's writes (api/read_model.py, api/freshness.py): an answer about a region is served for
``max_stale_s`` after the worker moved the region's marks, saying how far behind it is (``Age``), while it is computed
again off the requests; never past that, never for a caller who asks for the state as it is now
(``Cache-Control: no-cache``), and never behind a change asked for through the API (an override, a re-plan, an
alert action)."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.freshness import age_header, max_stale_of
from api.read_model import ASKING, Asking, ReadModel
from tests.api.conftest import REGION, deprioritise
from tests.support.polling import wait_until

WAITING = "/regions/RS/waiting-list"


@pytest.mark.parametrize(("said", "allowed"), [
    ("no-cache", 0.0), ("max-age=0", 0.0), ("max-age=3", 3.0), ("Max-Age=3, max-age=2", 2.0),
    ("public, max-age=10, no-cache", 0.0), ("no-store", None), ("max-age=abc", None), ("max-age=-1", None),
    ("max-age=" + "9" * 40, None), ("", None)])
def test_cache_control_says_how_far_behind_an_answer_may_be(said, allowed):
    assert max_stale_of(said) == allowed


def version(**marks: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(marks.items()))


class Counting:
    """A compute that counts its calls and says on which thread each ran."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self) -> int:
        self.threads.append(threading.current_thread().name)
        return len(self.threads)


def test_an_answer_is_served_behind_the_workers_writes_for_the_bound_and_refreshed_from_half_of_it():
    now = [100.0]
    model = ReadModel(max_age_s=60, max_stale_s=4, clock=lambda: now[0])
    compute = Counting()
    first = version(**{"dirty:RS": "0", "plan_version:RS": "6", "clock": "a"})
    assert model.get(first, "k", compute, region="RS") == 1
    written = version(**{"dirty:RS": "1", "plan_version:RS": "6", "clock": "b"})  # the worker wrote RS
    model.observe(written)
    asking = Asking()
    token = ASKING.set(asking)
    try:
        now[0] = 101.5
        assert model.get(written, "k", compute, region="RS") == 1  # behind, and not yet due
        assert asking.age_s == 1.5 and age_header(asking) == "2" and model.refreshing() == 0
        now[0] = 102.0  # half the bound: served, and computed again off the request
        assert model.get(written, "k", compute, region="RS") == 1
        wait_until(lambda: model.refreshed == 1, timeout=10, message="the refresher never computed it again")
        assert compute.threads == ["MainThread", "read-model-refresh"]
        later = version(**{"dirty:RS": "2", "plan_version:RS": "6", "clock": "c"})
        model.observe(later)
        now[0] = 106.5  # the refreshed answer (computed at 102) is 4.5 s behind: past the bound, computed here
        assert model.get(later, "k", compute, region="RS") == 3 and compute.threads[-1] == "MainThread"
    finally:
        ASKING.reset(token)


def test_no_cache_and_a_change_asked_through_the_api_are_never_answered_from_behind():
    model = ReadModel(max_age_s=60, max_stale_s=30)
    compute = Counting()
    first = version(**{"dirty:RS": "0", "asked:RS": "1", "max:alert_actions": "5", "clock": "a"})
    assert model.get(first, "k", compute, region="RS") == 1
    written = version(**{"dirty:RS": "1", "asked:RS": "1", "max:alert_actions": "5", "clock": "b"})
    model.observe(written)
    assert model.get(written, "k", compute, region="RS") == 1  # the worker's write: served behind it
    for terms, expected in ((Asking(0.0), 2), (Asking(None), 2)):  # no-cache computes; then that answer is kept
        token = ASKING.set(terms)
        try:
            assert model.get(written, "k", compute, region="RS") == expected
        finally:
            ASKING.reset(token)
    for n, moved in enumerate(({"asked:RS": "2"}, {"max:alert_actions": "6"}), start=3):
        asked = version(**{**dict(written), **moved, "dirty:RS": str(n), "clock": str(n)})
        model.observe(asked)
        assert model.get(asked, "k", compute, region="RS") == n  # an override, a re-plan, an alert action
        written = asked
    assert model.get(written, "other", compute, region="RW") == 5


def test_a_strict_model_serves_nothing_behind():
    model = ReadModel(max_age_s=60)  # max_stale_s 0: the model's own default
    compute = Counting()
    first = version(**{"dirty:RS": "0", "clock": "a"})
    assert model.get(first, "k", compute, region="RS") == 1
    written = version(**{"dirty:RS": "1", "clock": "b"})
    model.observe(written)
    token = ASKING.set(Asking(30.0))  # a caller cannot widen what the service allows
    try:
        assert model.get(written, "k", compute, region="RS") == 2
    finally:
        ASKING.reset(token)


def test_over_http_an_override_and_a_replan_are_read_back_at_once_and_a_workers_write_within_the_bound(
        engine_copy, issuer):
    with TestClient(create_app(engine_copy, issuer.verifier(), max_stale_s=30)) as client:
        reader = {"Authorization": f"Bearer {issuer.token([Role.READ], [REGION])}"}
        planner = {"Authorization": f"Bearer {issuer.token([Role.PLANNER], [REGION])}"}
        waiting = client.get(WAITING, params={"limit": 500}, headers=reader).json()["items"]
        held, other = waiting[0]["referral_id"], waiting[1]
        path = f"/referrals/{held}"
        before = client.get(path, headers=reader)
        assert before.status_code == 200 and "age" not in before.headers

        deprioritise(engine_copy, other)  # the worker's write: the kept answer is served behind it
        behind = client.get(path, headers=reader)
        assert behind.json() == before.json() and "age" in behind.headers

        until = date.fromisoformat(client.get("/regions/RS/plan", headers=reader).json()["as_of"]) + timedelta(days=28)
        added = client.post("/regions/RS/overrides", headers=planner, json={
            "kind": "hold", "referral_id": held, "until": until.isoformat(), "reason": "agreed with the manager"})
        assert added.status_code == 201, added.text
        after = client.get(path, headers=reader)  # the planner reads back what they did, with no header asked
        assert "age" not in after.headers
        assert any(until.isoformat() in note for note in after.json()["explanation"]["notes"]), \
            after.json()["explanation"]
        listed = client.get(WAITING, params={"limit": 500}, headers=reader).json()
        assert other["referral_id"] not in {i["referral_id"] for i in listed["items"]}  # computed after the write

        deprioritise(engine_copy, waiting[2])
        queued = client.post("/regions/RS/replan", json={"time_limit_s": 1}, headers=planner)
        assert queued.status_code == 202, queued.text
        job = wait_until(lambda: (j := client.get(queued.headers["location"], headers=reader).json())["status"]
                         in ("SUCCEEDED", "FAILED") and j, timeout=120, interval=0.2)
        assert job["status"] == "SUCCEEDED", job["error"]
        replanned = client.get(WAITING, params={"limit": 500}, headers=reader)
        assert "age" not in replanned.headers
        assert waiting[2]["referral_id"] not in {i["referral_id"] for i in replanned.json()["items"]}
