"""A region's referral pass in a child process (api/referral_answers.py): the answers the server process computes,
byte for byte; a child that dies is replaced, and the pass it owed is computed in the server meanwhile; the child
dies with its server process, even a SIGKILLed one; a database only the server can open keeps the pass at home.

The same pass served through the routes, in either process, is tests/api/test_read_model_regions.py's."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.referral_answers import PassProcess, region_pass, shareable
from api.reads import Reader
from engine.bootstrap import bootstrap
from engine.settings import EngineSettings
from tests.api.conftest import REGION
from tests.support.polling import wait_until


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return _state(pid) not in ("Z", "X")  # a zombie has ended: only its exit status is left to collect


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0]
    except OSError:
        return "X"


@pytest.fixture
def asked(engine_copy, issuer, token) -> tuple[Reader, list[str]]:
    """A reader of the copied region and twenty referrals of its waiting list, as a region's callers ask for them."""
    client = TestClient(create_app(engine_copy, issuer.verifier(), run_jobs=False))
    items = client.get(f"/regions/{REGION}/waiting-list", params={"limit": 20}, headers=token()).json()["items"]
    assert len(items) == 20
    return Reader(engine_copy, max_stale_s=0.0), [item["referral_id"] for item in items]


def test_the_child_answers_byte_for_byte_as_the_server_process_and_a_dead_child_is_replaced(engine_copy, asked):
    read, ids = asked
    here = region_pass(read, REGION, ids)
    assert set(ids) <= set(here)  # each asked referral, and every other referral of the same people
    passes = PassProcess(engine_copy.settings)
    try:
        assert passes(read, REGION, ids) == here
        first = passes.pid()
        assert first is not None and first != os.getpid() and (passes.passes, passes.fallbacks) == (1, 0)

        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not alive(first), timeout=30, message="the killed pass process did not end")
        assert passes(read, REGION, ids) == here  # computed here, the child being dead ...
        assert (passes.passes, passes.fallbacks) == (1, 1)
        assert passes(read, REGION, ids) == here  # ... and the next pass by a new child
        assert passes.passes == 2 and passes.pid() not in (None, first)
    finally:
        passes.close()


def test_the_pass_process_dies_with_its_server_process_even_a_sigkilled_one(engine_copy, tmp_path):
    """A server process (here a plain Python process) starts its pass process and is SIGKILLed: the child ends."""
    script = textwrap.dedent(f"""
        import sys
        from api.referral_answers import PassProcess
        from engine.settings import EngineSettings
        from tests.support.polling import wait_until
        passes = PassProcess(EngineSettings(database_url={engine_copy.settings.database_url!r},
                                            output_dir={str(tmp_path)!r}))
        passes.start()
        print(wait_until(passes.pid, timeout=60, message="no pass process"), flush=True)
        sys.stdin.read()  # until killed
    """)
    server = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=os.getcwd())
    try:
        child = int(server.stdout.readline())
        assert alive(child)
        server.kill()
        server.wait(timeout=30)
        wait_until(lambda: not alive(child), timeout=30, message="the pass process outlived its server process")
    finally:
        server.kill()
        server.wait(timeout=30)


def test_a_database_only_the_server_can_open_keeps_the_pass_in_the_server_process(tmp_path, issuer):
    memory = bootstrap(EngineSettings(database_url="sqlite://", output_dir=tmp_path))
    try:
        assert create_app(memory, issuer.verifier(), run_jobs=False, pass_process=True).state.reader.pass_process \
            is None
    finally:
        memory.database.dispose()


@pytest.mark.parametrize("url, shared", [
    ("sqlite:///out/cohortplan.db", True), ("sqlite:////tmp/x.db", True),
    ("postgresql+psycopg://cohortplan@127.0.0.1:5432/cohortplan", True),
    ("sqlite://", False), ("sqlite:///:memory:", False), ("sqlite+pysqlite://", False),
    ("sqlite:///file:x?mode=memory&cache=shared&uri=true", False)])
def test_which_databases_another_process_can_share(url, shared):
    assert shareable(url) is shared
