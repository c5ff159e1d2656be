"""``cohortplan serve --dev-auth`` as a user starts it, and ``cohortplan token`` for it (real processes)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.polling import wait_until

COHORTPLAN = str(Path(sys.executable).parent / "cohortplan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(args: list[str], env: dict, log_path: Path, ready: str = "/health", timeout: float = 60) -> Iterator[
        tuple[subprocess.Popen, str]]:
    """``cohortplan serve *args`` on a free port, once ``ready`` answers 200: the process and its base URL; stopped
    (SIGINT to its process group, as Ctrl-C) on the way out."""
    port = free_port()
    with log_path.open("w") as log:
        server = subprocess.Popen([COHORTPLAN, "serve", *args, "--port", str(port)], env={**os.environ, **env},
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{base}{ready}", timeout=1).status_code == 200
            except httpx.TransportError:
                return server.poll() is not None  # stop waiting if it died (asserted below)
        wait_until(up, timeout=timeout, message=log_path.read_text)
        assert server.poll() is None, log_path.read_text()
        yield server, base
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)


def run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([COHORTPLAN, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_serve_with_dev_auth_answers_a_token_from_cohortplan_token(region, tmp_path):
    env = {"COHORTPLAN_OUTPUT_DIR": str(tmp_path), "COHORTPLAN_DATABASE_URL": region.url}
    with serving(["--dev-auth"], env, tmp_path / "serve.log") as (server, base):
        key = tmp_path / "dev-auth-key.pem"
        assert key.stat().st_mode & 0o077 == 0, "the signing key is readable by its owner only"
        issued = run("token", "--role", "READ", "--region", "RS", env=env)
        assert issued.returncode == 0, issued.stderr
        headers = {"Authorization": f"Bearer {issued.stdout.strip()}"}
        answer = httpx.get(f"{base}/regions/RS/waiting-list", params={"limit": 3}, headers=headers, timeout=30)
        assert answer.status_code == 200 and len(answer.json()["items"]) == 3
        assert httpx.get(f"{base}/dead-letters", headers=headers, timeout=30).status_code == 403
        log_text = (tmp_path / "serve.log").read_text()
        assert "PRIVATE KEY" not in log_text and key.read_text() not in log_text
    assert not (tmp_path / "dev-auth-key.pem").exists(), "the dev key goes with the server"
    refused = run("token", "--role", "READ", "--region", "RS", env=env)
    assert refused.returncode == 2 and "start `cohortplan serve --dev-auth` first" in refused.stdout


@pytest.mark.parametrize("url", ["postgresql+psycopg://cohortplan@127.0.0.1:1/cohortplan"])
def test_serve_refuses_dev_auth_on_a_shared_database_before_opening_it(tmp_path, url):
    done = run("serve", "--dev-auth", "--database-url", url, env={"COHORTPLAN_OUTPUT_DIR": str(tmp_path)})
    assert done.returncode == 2 and "only on a SQLite database" in done.stdout


def test_serve_without_dev_auth_needs_the_issuer(tmp_path, region):
    """Empty variables (docker-compose passes them so) count as unset."""
    done = run("serve", env={"COHORTPLAN_OUTPUT_DIR": str(tmp_path), "COHORTPLAN_DATABASE_URL": region.url,
                             "COHORTPLAN_API_ISSUER": "", "COHORTPLAN_API_JWKS_URL": ""})
    assert done.returncode == 2 and "COHORTPLAN_API_JWKS_URL" in done.stdout
