"""``cohortplan serve --workers N``: N uvicorn processes, each serving ``api.app:served`` (real processes)."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.api.test_serve import COHORTPLAN, free_port, run
from tests.support.polling import wait_until


def test_serve_with_two_workers_answers_from_both_processes(region, tmp_path):
    env = {"COHORTPLAN_OUTPUT_DIR": str(tmp_path), "COHORTPLAN_DATABASE_URL": region.url,
           "COHORTPLAN_API_ISSUER": "https://issuer.invalid", "COHORTPLAN_API_JWKS_URL": "https://issuer.invalid/jwks"}
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([COHORTPLAN, "serve", "--workers", "2", "--port", str(port)],
                                  env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{base}/health/ready", timeout=1).status_code == 200
            except httpx.TransportError:
                return server.poll() is not None
        wait_until(up, timeout=90, message=log_path.read_text)
        assert server.poll() is None, log_path.read_text()
        wait_until(lambda: len(_children(server.pid)) >= 2, timeout=60, message=log_path.read_text)
        unauthenticated = httpx.get(f"{base}/regions/RS/waiting-list", timeout=30)
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == "application/problem+json"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)


def test_serve_refuses_workers_with_dev_auth(region, tmp_path):
    done = run("serve", "--dev-auth", "--workers", "2",
               env={"COHORTPLAN_OUTPUT_DIR": str(tmp_path), "COHORTPLAN_DATABASE_URL": region.url})
    assert done.returncode == 2 and "--dev-auth serves one process" in done.stdout
    assert not (Path(tmp_path) / "dev-auth-key.pem").exists()


def _children(pid: int) -> list[str]:
    """The server processes uvicorn started (its spawned workers)."""
    found = subprocess.run(["pgrep", "-P", str(pid), "-f", "multiprocessing.spawn"], capture_output=True, text=True)
    return [line for line in found.stdout.split() if line]
