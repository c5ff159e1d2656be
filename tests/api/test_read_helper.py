"""The read helper (api/helper.py): the read model's answers computed again in a process of the server's own, on
SQLite and PostgreSQL, the same bytes as computed in the server; a helper that dies is replaced and loses nothing;
an error in a computation reaches the server as it would have there.
"""
from __future__ import annotations

import logging
import os
import pickle
import signal
import time
from datetime import date

import pytest

from api.app import create_app
from api.helper import NICENESS, Computation
from api.read_model import ReadModel
from api.reads import Reader
from api.responses import Serialised, json_of
from api.routes.alerts import Listed, _listed
from api.routes.referrals import Found, _pass
from api.routes.waiting_list import _entries
from engine.bootstrap import bootstrap
from engine.cli import replay_file
from engine.persistence.database import in_memory
from engine.settings import EngineSettings
from tests.api.conftest import REGION
from tests.support.polling import wait_until

AS_OF = date(2026, 3, 2)


class Boom(RuntimeError):
    pass


def _fails(read: Reader, what: str) -> None:
    raise Boom(f"no {what} here")


@pytest.fixture
def replayed(region, database_url, tmp_path):
    """The API tests' region replayed into a fresh SQLite file or PostgreSQL database, as the region was."""
    engine = bootstrap(EngineSettings(database_url=database_url, output_dir=tmp_path / "out"))
    replay_file(engine, region.events, 7, "current-practice")
    yield engine
    engine.database.dispose()


@pytest.fixture
def helped(replayed):
    read = Reader(replayed, 5.0, helper=True)
    yield read
    read.close()


def test_only_a_database_another_process_can_open_gets_a_helper():
    assert not in_memory("sqlite:////tmp/x/cohortplan.db")
    assert not in_memory("sqlite:///out/cohortplan.db")
    assert not in_memory("postgresql+psycopg://cohortplan@127.0.0.1/cohortplan")
    for memory in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&cache=shared&uri=true"):
        assert in_memory(memory), memory
    assert Reader(bootstrap(EngineSettings(database_url="sqlite://")), 5.0, helper=True).helper is None


def test_the_helpers_answers_are_the_servers_bytes(helped):
    in_server = helped  # its own computations run here
    waiting = Computation(helped, _entries, (REGION, AS_OF, "AWAITING_ALLOCATION", 12))
    alerts = Computation(helped, _listed, (REGION,))
    helper_pid = helped.helper.pid()
    assert helper_pid != os.getpid()
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, helper_pid) == min(19, mine + NICENESS)  # a request first

    kept_waiting, kept_alerts = helped.helper.run(waiting), helped.helper.run(alerts)

    assert helped.helper.ran == 2
    ours = _entries(in_server, REGION, AS_OF, "AWAITING_ALLOCATION", 12)
    assert len(ours) > 20
    assert [e._json for e in kept_waiting] == [e.json for e in ours]  # came with their JSON, the same bytes
    assert [e.model for e in kept_waiting] == [e.model for e in ours]
    ours = _listed(in_server, REGION)
    assert ours and [a._json for a in kept_alerts] == [a.json for a in ours]
    assert [(a.kind, a.rank, a.state, a.crn) for a in kept_alerts] == [(a.kind, a.rank, a.state, a.crn) for a in ours]


def test_a_pass_asks_for_the_ids_asked_by_the_time_it_runs_and_the_server_learns_their_region(helped):
    ids = [e.model.referral_id for e in _entries(helped, REGION, AS_OF, "AWAITING_ALLOCATION", 12)[:30]]
    computation = _pass(helped, REGION)
    for referral_id in ids:  # asked after the computation was made, before it ran
        helped.asked.note(REGION, referral_id)

    every = helped.helper.run(computation)

    assert set(ids) <= set(every) and helped.helper.ran == 1
    assert {helped.regions_of_referrals[i] for i in ids} == {REGION}  # noted in the server, not the helper
    assert every == computation()  # the same answers as computed here


def test_the_refresher_computes_in_the_helper(helped):
    now = [0.0]
    model = ReadModel(max_stale_s=5.0, clock=lambda: now[0], offload=helped.helper.run)
    version = helped.version()
    computation = Computation(helped, _listed, (REGION,))
    first = model.get(version, ("alerts", REGION), computation, region=REGION)  # in the request: here
    assert helped.helper.ran == 0
    now[0] = 59.0  # past when it is due, within its bound: served, and computed again off the request
    later = (*version, ("clock", "later"))  # another version, the region's marks as they were

    assert model.get(later, ("alerts", REGION), computation, region=REGION) is first
    wait_until(lambda: model.refreshed == 1, timeout=60, message="the due answer was never computed again")
    assert helped.helper.ran == 1
    assert [a.json for a in model.get(later, ("alerts", REGION), computation, region=REGION)] == \
        [a.json for a in first]


def test_a_helper_that_died_is_replaced_and_its_computation_done_in_the_server(helped):
    computation = Computation(helped, _listed, (REGION,))
    expected = [a.json for a in computation()]
    os.kill(helped.helper.pid(), signal.SIGKILL)

    assert [a.json for a in helped.helper.run(computation)] == expected
    assert (helped.helper.fell_back, helped.helper.ran) == (1, 0)
    assert [a.json for a in helped.helper.run(computation)] == expected
    assert (helped.helper.started, helped.helper.ran) == (2, 1)


def test_a_closed_helper_starts_nothing_and_the_server_computes(helped):
    computation = Computation(helped, _listed, (REGION,))
    helped.helper.close()  # the server's end: its refresher may still run a last computation

    assert [a.json for a in helped.helper.run(computation)] == [a.json for a in computation()]
    assert (helped.helper.started, helped.helper.ran) == (0, 0)
    with pytest.raises(RuntimeError, match="closed"):
        helped.helper.pid()


def test_an_error_in_a_computation_reaches_the_server(helped):
    with pytest.raises(Boom, match="no plan here"):
        helped.helper.run(Computation(helped, _fails, ("plan",)))
    assert helped.helper.fell_back == 0


def test_what_crosses_from_the_helper_carries_its_json(helped):
    entry = _entries(helped, REGION, AS_OF, "AWAITING_ALLOCATION", 12)[0]
    alert = _listed(helped, REGION)[0]
    assert entry._json is None and alert._json is None  # made only when a page shows it ...
    entry_copy, alert_copy = pickle.loads(pickle.dumps(entry)), pickle.loads(pickle.dumps(alert))
    assert entry_copy._json == json_of(entry.model) and entry_copy.model == entry.model  # ... or it crosses
    assert alert_copy._json == alert.json and alert_copy.row == alert.row and alert_copy.rank == alert.rank
    assert isinstance(entry_copy, Serialised) and isinstance(alert_copy, Listed)
    found = Found(REGION, "X123456", b'{"referral_id":"R1"}')
    assert pickle.loads(pickle.dumps(found)) == found


def test_a_served_app_starts_its_helper_and_stops_it(replayed, issuer):
    from fastapi.testclient import TestClient
    app = create_app(replayed, issuer.verifier(), run_jobs=False, read_helper=True)
    helper = app.state.reader.helper
    with TestClient(app):
        pid = helper.pid()
        assert helper.started == 1  # started with the app, not by the first answer due
    wait_until(lambda: not _alive(pid), timeout=30, message=f"the helper {pid} outlived its app")


def test_metrics_and_the_apps_end_say_what_the_read_model_computed_where_and_what_its_helper_did(
        replayed, issuer, token, caplog):
    from fastapi.testclient import TestClient
    app = create_app(replayed, issuer.verifier(), run_jobs=False, read_helper=True)
    read = app.state.reader
    with caplog.at_level(logging.INFO, logger="api.app"), TestClient(app) as client:
        assert client.get("/regions/RS/alerts", headers=token()).status_code == 200  # computed in the request
        read.model.clock = lambda: time.monotonic() + 59  # past when it is due, within its bound: served, and
        later = (*read.version(), ("clock", "later"))  # ... computed again off the request, by the helper
        read.model.get(later, ("alerts", REGION), Computation(read, _listed, (REGION,)), region=REGION)
        wait_until(lambda: read.model.refreshed == 1, timeout=60, message="the refresher never computed it")
        text = client.get("/metrics").text
    assert 'cohortplan_api_answers_computed_total{answer="alerts",by="request"} 1.0' in text
    assert 'cohortplan_api_answers_computed_total{answer="alerts",by="refresher"} 1.0' in text
    assert 'cohortplan_api_read_helper_computations_total{by="helper"} 1.0' in text
    assert 'cohortplan_api_read_helper_computations_total{by="server"} 0.0' in text
    assert "cohortplan_api_read_helper_started_total 1.0" in text
    ended = [r.getMessage() for r in caplog.records if r.getMessage().startswith("read model:")]
    assert len(ended) == 1 and "in requests: alerts 1, regions 1; by the refresher: alerts 1" in ended[0]
    assert ended[0].endswith("read helper: 1 computed, 0 done in the server, 1 started")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
