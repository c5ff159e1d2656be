"""The read model per region (api/read_model.py): a write to another region keeps a region's answers, a write to
the region does not, marks that change and come back are not taken for the old ones, and no answer outlives its
bound on staleness under a version other than its own.

Each answer from the app that keeps answers is compared with a fresh app over the same database.
"""
from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.read_model import ASKING, WARM_MISSED, Asking, ReadModel, marks_of
from api.reads import RecentlyAsked
from engine.services.ingest import RawEvent
from tests.api.conftest import REGION, deprioritise, event
from tests.support.polling import wait_until

WAITING, ALERTS = "/regions/RS/waiting-list", "/regions/RS/alerts"
EVERYTHING = {"limit": 500}


def another_regions_write(engine, n: int) -> None:
    """A facilitator registered in region RW: a real write of another region (its dirty mark, the clock, the
    offsets and the outbox move; nothing of RS does)."""
    result = engine.ingestor.process([RawEvent(event("facilitator.registered", "RW", {
        "facilitator_id": f"RW-F9{n:02d}", "region_code": "RW", "home_pdu": "RW-P01", "programmes": ["BBR"],
        "offices": ["RW-P01-O1"], "weekly_hours": 20.0,
        "availability": [{"weekday": 0, "period": "DAYTIME"}]}, source="manage-and-deliver"), "test", 100 + n)])
    assert result.applied == 1


def test_another_regions_writes_keep_the_regions_answers_and_its_own_write_does_not(engine_copy, issuer):
    kept = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))
    model = kept.app.state.reader.model
    reader = {"Authorization": f"Bearer {issuer.token([Role.READ], [REGION])}"}

    def same_as_fresh(path: str, params: dict | None = None, asking: dict | None = None) -> dict:
        answer = kept.get(path, params=params if params is not None else EVERYTHING,
                          headers={**reader, **(asking or {})})
        fresh = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))
        assert answer.status_code == 200, answer.text
        assert answer.json() == fresh.get(path, params=params if params is not None else EVERYTHING,
                                          headers=reader).json()
        return answer.json()

    waiting = same_as_fresh(WAITING)
    alerts = same_as_fresh(ALERTS)
    referral_path = f"/referrals/{waiting['items'][1]['referral_id']}"
    referral = same_as_fresh(referral_path, {})
    wait_until(lambda: kept.get(referral_path, headers=reader).status_code == 200
               and model.peek(kept.app.state.reader.version(), ("referrals", REGION)), timeout=30,
               message="the region's referrals were never computed off the requests")
    version = kept.app.state.reader.version()
    computed = model.computed
    west = {"Authorization": f"Bearer {issuer.token([Role.READ], [REGION, 'RW'])}"}
    assert kept.get("/regions/RW/alerts", headers=west).status_code == 404  # no region RW yet

    for n in range(3):  # another region's writes: the version moves, RS's answers are kept (and still right)
        another_regions_write(engine_copy, n)
        assert kept.app.state.reader.version() != version
        assert same_as_fresh(WAITING) == waiting
        assert same_as_fresh(ALERTS) == alerts
        assert same_as_fresh(referral_path, {}) == referral
    # nothing was computed again: not even the known regions, kept behind the writes like the region's answers ...
    assert model.computed == computed
    assert "RW" not in model.get(kept.app.state.reader.version(), ("regions",), lambda: [], behind=True)
    # ... but a region that has arrived since they were read is found all the same, never answered 404 from them
    assert kept.get("/regions/RW/alerts", headers=west).status_code == 200
    computed = model.computed

    # ... and a write of RS itself: served behind it (with Age) unless the caller asks for the state as it is now;
    # then the referral leaves the waiting list, and its own answer shows its new status
    gone = waiting["items"][1]
    deprioritise(engine_copy, gone)
    behind = kept.get(referral_path, headers=reader)
    assert behind.json() == referral and "age" in behind.headers
    now = {"Cache-Control": "no-cache"}
    after = same_as_fresh(WAITING, asking=now)
    assert after["total"] == waiting["total"] - 1
    assert same_as_fresh(referral_path, {}, asking=now)["status"] == "DEPRIORITISED"
    assert same_as_fresh(ALERTS, asking=now) == alerts  # computed again all the same (the region's marks moved)
    assert model.computed > computed


def version(**marks: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(marks.items()))


class Counting:
    """A computation whose answer is how many times it has run: 1, 2, …"""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> int:
        self.runs += 1
        return self.runs


def test_an_answer_about_no_region_kept_behind_is_served_under_any_version_for_max_stale_s_and_adds_no_age():
    now = [0.0]
    model = ReadModel(max_stale_s=5.0, clock=lambda: now[0])
    compute = Counting()

    first, moved = version(clock="a", **{"dirty:RS": "1"}), version(clock="b", **{"dirty:RS": "2"})
    assert model.get(first, "regions", compute, behind=True) == 1
    asking = Asking()
    token = ASKING.set(asking)
    try:
        now[0] = 2.0
        assert model.get(moved, "regions", compute, behind=True) == 1  # every mark moved: served behind ...
        assert asking.age_s == 0  # ... adding no Age: it is not what the caller is shown
        assert model.refreshing() == 0  # not due before half the bound
        now[0] = 3.0
        assert model.get(moved, "regions", compute, behind=True) == 1  # due: served, and computed again ahead
        wait_until(lambda: model.peek(moved, "regions") == 2, timeout=10, message="never computed again ahead")
        now[0] = 9.0
        third = version(clock="c", **{"dirty:RS": "3"})
        assert model.get(third, "regions", compute, behind=True) == 3  # past the bound: computed in the request
        ASKING.set(Asking(max_stale_s=0.0))  # Cache-Control: no-cache
        assert model.get(version(clock="d"), "regions", compute, behind=True) == 4
    finally:
        ASKING.reset(token)
    assert model.get(version(clock="e"), "exact", compute) == 5
    assert model.get(version(clock="f"), "exact", compute) == 6  # without ``behind``: the exact version only


def test_marks_that_come_back_are_a_new_stamp_and_answers_age_out_under_other_versions():
    model = ReadModel(max_age_s=60)
    compute = Counting()

    first = version(**{"dirty:RS": "0", "plan_version:RS": "6", "clock": "a"})
    assert model.get(first, "k", compute, region="RS") == 1
    other = version(**{"dirty:RS": "0", "plan_version:RS": "6", "clock": "b", "dirty:RW": "1"})
    model.observe(other)
    assert model.get(other, "k", compute, region="RS") == 1  # another region moved: kept
    between = version(**{"dirty:RS": "1", "plan_version:RS": "6", "clock": "c"})
    model.observe(between)  # a request saw RS change...
    back = version(**{"dirty:RS": "0", "plan_version:RS": "6", "clock": "d"})
    model.observe(back)  # ... and its marks come back (a refused plan resets the dirty mark)
    assert marks_of(back, "RS") == marks_of(first, "RS")
    assert model.get(back, "k", compute, region="RS") == 2  # not taken for the first answer's state
    assert model.get(back, "exact", compute) == 3
    assert model.get(version(**{**dict(back), "clock": "e"}), "exact", compute) == 4  # no region: exact only
    assert model.get(back, "star", compute, region="*") == 5
    assert model.get(version(**{**dict(back), "clock": "e"}), "star", compute, region="*") == 6

    aged = ReadModel(max_age_s=0)  # the bound on staleness: kept under its own version only, once it is reached
    assert aged.get(first, "k", compute, region="RS") == 7
    assert aged.get(first, "k", compute, region="RS") == 7
    assert aged.get(other, "k", compute, region="RS") == 8


def test_an_answer_due_is_served_while_the_refresher_computes_it_again_off_the_request(monkeypatch):
    monkeypatch.setattr("api.read_model.random.uniform", lambda low, high: 0.0)  # due as soon as it is computed
    model = ReadModel(max_age_s=60)
    release, calls = threading.Event(), []

    def compute() -> int:
        calls.append(threading.current_thread().name)
        if len(calls) > 1:
            release.wait(10)  # the refresh is slow: the requests meanwhile must not wait for it
        return len(calls)

    first = version(**{"dirty:RS": "0", "clock": "a"})
    assert model.get(first, "k", compute, region="RS") == 1
    assert model.get(first, "k", compute, region="RS") == 1  # its own version: never due
    assert model.refreshing() == 0
    later = version(**{"dirty:RS": "0", "clock": "b"})  # another region's write: kept, and due
    assert model.get(later, "k", compute, region="RS") == 1
    wait_until(lambda: len(calls) == 2, timeout=10, message="the refresher never started")
    assert model.get(later, "k", compute, region="RS") == 1  # served at once while the refresher computes
    assert model.refreshing() == 1 and calls[1] == "read-model-refresh"
    release.set()
    wait_until(lambda: model.refreshing() == 0, timeout=10, message="the refresh never finished")
    assert model.get(later, "k", compute, region="RS") == 2 and model.refreshed == 1 and len(calls) == 2


def test_a_refresh_that_fails_keeps_the_answer_and_a_write_to_its_region_is_computed_in_the_request(
        monkeypatch, caplog):
    monkeypatch.setattr("api.read_model.random.uniform", lambda low, high: 0.0)
    model = ReadModel(max_age_s=60)
    results: list = [1, RuntimeError("database gone")]

    def compute() -> int:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    first = version(**{"dirty:RS": "0", "clock": "a"})
    assert model.get(first, "k", compute, region="RS") == 1
    later = version(**{"dirty:RS": "0", "clock": "b"})
    assert model.get(later, "k", compute, region="RS") == 1  # due: the refresher tries, and fails
    wait_until(lambda: "computing a kept answer again failed (k)" in caplog.text, timeout=10)
    wait_until(lambda: model.refreshing() == 0, timeout=10)
    assert model.computed == 1 and model.refreshed == 0
    results.append(3)
    assert model.get(later, "k", compute, region="RS") == 1  # still the kept answer (its bound is 60 s away)
    wait_until(lambda: model.refreshed == 1, timeout=10)  # ... and the next request's refresh succeeds
    assert model.get(later, "k", compute, region="RS") == 3
    results.append(4)
    moved = version(**{"dirty:RS": "1", "clock": "c"})  # the region's own write: computed in the request
    model.observe(moved)
    assert model.get(moved, "k", compute, region="RS") == 4 and model.refreshed == 1


def test_warm_computes_off_the_request_once_the_marks_settle_at_most_once_a_while_and_peek_never_computes(
        monkeypatch):
    monkeypatch.setattr("api.read_model.random.uniform", lambda low, high: 0.0)  # due as soon as computed
    model = ReadModel(max_age_s=60)
    threads: list[str] = []

    def compute() -> int:
        threads.append(threading.current_thread().name)
        return len(threads)

    first = version(**{"dirty:RS": "0", "clock": "a"})
    assert model.peek(first, "pass") is None and threads == []  # nothing kept: nothing computed in the request
    assert not model.warm(first, "pass", compute, "RS", stable_s=60)  # first sight of the marks ...
    assert not model.warm(first, "pass", compute, "RS", stable_s=60)  # ... not put for 60 s yet
    for n in range(5):  # marks that keep moving (the worker writing the region) never settle: nothing computed
        assert not model.warm(version(**{"dirty:RS": str(n + 1), "clock": "a"}), "pass", compute, "RS", stable_s=0)
    assert model.warm(first, "pass", compute, "RS", stable_s=0) is False  # moved back: a new stamp, seen once
    assert model.warm(first, "pass", compute, "RS", stable_s=0)
    wait_until(lambda: model.peek(first, "pass") == 1, timeout=10, message="the warm-up never ran")
    assert threads == ["read-model-refresh"]
    moved = version(**{"dirty:RS": "9", "clock": "b"})  # the region's own write: the pass is out of date ...
    model.observe(moved)
    assert model.peek(moved, "pass") is None
    model.warm(moved, "pass", compute, "RS", stable_s=0)
    assert not model.warm(moved, "pass", compute, "RS", stable_s=0)  # ... and not computed again within 10 s
    assert model.warm(moved, "pass", compute, "RS", every_s=0, stable_s=0)
    wait_until(lambda: model.peek(moved, "pass") == 2, timeout=10)
    other = version(**{"dirty:RS": "9", "clock": "c"})  # another region's write: kept, due, refreshed ahead
    assert model.peek(other, "pass", compute, "RS") == 2
    wait_until(lambda: model.peek(other, "pass") == 3, timeout=10, message="a due pass was not refreshed")
    assert model.computed == 3 and model.refreshed == 3


def test_the_referrals_a_region_is_asked_for_are_computed_in_one_pass_off_the_requests_and_answer_as_each_alone(
        engine_copy, issuer, monkeypatch):
    monkeypatch.setattr("api.read_model.random.uniform", lambda low, high: 0.0)  # kept answers come due at once
    kept = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))
    fresh = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))
    reader = {"Authorization": f"Bearer {issuer.token([Role.READ], [REGION])}"}
    model = kept.app.state.reader.model
    items = kept.get(WAITING, params=EVERYTHING, headers=reader).json()["items"][:12]
    paths = [f"/referrals/{item['referral_id']}" for item in items]

    def the_pass() -> dict:
        return model.peek(kept.app.state.reader.version(), ("referrals", REGION)) or {}

    # computed alone, as long as the pass is not in; the first one asks for the pass, which holds it
    wait_until(lambda: kept.get(paths[0], headers=reader).status_code == 200 and the_pass(), timeout=30,
               message="the region's referrals were never computed off the requests")
    for path in paths:  # the others, asked for now: computed alone, and held by the next pass
        assert kept.get(path, headers=reader).status_code == 200
    another_regions_write(engine_copy, 7)  # the version moves, RS's marks do not: the kept pass is due
    wait_until(lambda: kept.get(paths[0], headers=reader).status_code == 200
               and all(item["referral_id"] in the_pass() for item in items), timeout=30,
               message="no pass held every referral asked for")
    in_requests = model.computed - model.refreshed
    for path in paths:
        assert kept.get(path, headers=reader).json() == fresh.get(path, headers=reader).json()
    assert model.computed - model.refreshed == in_requests  # every one from the pass, none computed in its request
    # the pass holds the people asked about (each with all their referrals), not the whole region
    assert {found.crn for found in the_pass().values()} == {item["crn"] for item in items}
    assert kept.get("/referrals/REF-NEVER-SEEN", headers=reader).status_code == 404


def test_passes_nobody_is_served_from_back_off_and_a_served_one_brings_the_cadence_back():
    now = [1000.0]
    model = ReadModel(max_age_s=60, clock=lambda: now[0])
    compute = Counting()

    def asked(at: float, marks: str) -> bool:
        now[0] = at
        seen = version(**{"dirty:RS": marks, "clock": marks})
        model.warm(seen, "pass", compute, "RS", every_s=10, stable_s=0)  # the first sight of these marks
        return model.warm(seen, "pass", compute, "RS", every_s=10, stable_s=0)

    assert asked(1000, "a")
    wait_until(lambda: compute.runs == 1, timeout=10)
    # the region's marks moved before anyone was served from the pass: the next waits 20 s, then 40 s
    assert not asked(1015, "b") and asked(1021, "c")
    wait_until(lambda: compute.runs == 2, timeout=10)
    assert not asked(1060, "d") and asked(1062, "e")
    wait_until(lambda: compute.runs == 3, timeout=10)
    assert model.peek(version(**{"dirty:RS": "e", "clock": "e"}), "pass") == 3  # served: back to every 10 s
    assert asked(1073, "f")


def test_a_kept_pass_lacking_what_enough_requests_asked_for_is_computed_again_at_most_once_a_while():
    now = [1000.0]
    model = ReadModel(max_age_s=60, clock=lambda: now[0])
    compute = Counting()
    seen = version(**{"dirty:RS": "a", "clock": "a"})
    model.warm(seen, "pass", compute, "RS", stable_s=0)
    assert model.warm(seen, "pass", compute, "RS", stable_s=0)
    wait_until(lambda: model.peek(seen, "pass") == 1, timeout=10)
    now[0] = 1011.0  # kept (the marks are put, far from due), and it holds what these requests asked for
    assert not any(model.warm(seen, "pass", compute, "RS", stable_s=0) for _ in range(2 * WARM_MISSED))
    # ... these it lacks: the WARM_MISSED-th asks for it again
    assert [model.warm(seen, "pass", compute, "RS", stable_s=0, missing=True) for _ in range(WARM_MISSED)] \
        == [False] * (WARM_MISSED - 1) + [True]
    wait_until(lambda: model.peek(seen, "pass") == 2, timeout=10, message="the pass was not computed again")
    now[0] = 1015.0  # ... and not again within WARM_EVERY_S, however many lack it
    assert not any(model.warm(seen, "pass", compute, "RS", stable_s=0, missing=True) for _ in range(3 * WARM_MISSED))
    now[0] = 1022.0
    assert model.warm(seen, "pass", compute, "RS", stable_s=0, missing=True)
    wait_until(lambda: model.peek(seen, "pass") == 3, timeout=10)
    assert compute.runs == 3


def test_a_due_pass_is_computed_before_the_single_answers_waiting_for_the_refresher(monkeypatch):
    monkeypatch.setattr("api.read_model.random.uniform", lambda low, high: 0.0)  # due as soon as computed
    model = ReadModel(max_age_s=60)
    order: list[str] = []
    held = threading.Event()

    def computing(name: str, hold: bool = False):
        def compute() -> str:
            order.append(name)
            if hold:
                assert held.wait(10), "never released"
            return name
        return compute

    first, later = version(**{"dirty:RS": "0", "clock": "a"}), version(**{"dirty:RS": "0", "clock": "b"})
    for key in ("busy", "a", "b"):
        model.get(first, key, computing(key), region="RS")
    model.warm(first, "pass", computing("pass"), "RS", stable_s=0)
    assert model.warm(first, "pass", computing("pass"), "RS", stable_s=0)
    wait_until(lambda: model.peek(first, "pass") == "pass", timeout=10)
    order.clear()
    model.get(later, "busy", computing("busy", hold=True), region="RS")  # due: the refresher is held on it ...
    wait_until(lambda: order == ["busy"], timeout=10)
    for key in ("a", "b"):  # ... while two single answers come due, then the pass
        model.get(later, key, computing(key), region="RS")
    assert model.peek(later, "pass", computing("pass"), "RS") == "pass"
    held.set()
    wait_until(lambda: model.refreshing() == 0, timeout=10)
    assert order == ["busy", "pass", "a", "b"]


def test_a_regions_pass_holds_the_most_recently_asked_referrals_at_most():
    asked = RecentlyAsked(most=2)
    for referral_id in ("a", "b", "a", "c"):
        asked.note("RS", referral_id)
    asked.note("RW", "z")
    assert asked.of("RS") == ["a", "c"] and asked.of("RW") == ["z"] and asked.of("XX") == []
