"""``cohortplan serve --workers N``: N uvicorn processes, each serving ``api.app:served`` (real processes)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.api.test_serve import run, serving
from tests.support.polling import wait_until


def test_serve_with_two_workers_answers_from_both_processes(region, tmp_path):
    env = {"COHORTPLAN_OUTPUT_DIR": str(tmp_path), "COHORTPLAN_DATABASE_URL": region.url,
           "COHORTPLAN_API_ISSUER": "https://issuer.invalid", "COHORTPLAN_API_JWKS_URL": "https://issuer.invalid/jwks"}
    log_path = tmp_path / "serve.log"
    with serving(["--workers", "2"], env, log_path, ready="/health/ready", timeout=90) as (server, base):
        wait_until(lambda: len(_children(server.pid)) >= 2, timeout=60, message=log_path.read_text)
        unauthenticated = httpx.get(f"{base}/regions/RS/waiting-list", timeout=30)
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == "application/problem+json"


def test_serve_refuses_workers_with_dev_auth(region, tmp_path):
    done = run("serve", "--dev-auth", "--workers", "2",
               env={"COHORTPLAN_OUTPUT_DIR": str(tmp_path), "COHORTPLAN_DATABASE_URL": region.url})
    assert done.returncode == 2 and "--dev-auth serves one process" in done.stdout
    assert not (Path(tmp_path) / "dev-auth-key.pem").exists()


def _children(pid: int) -> list[str]:
    """The server processes uvicorn started (its spawned workers)."""
    found = subprocess.run(["pgrep", "-P", str(pid), "-f", "multiprocessing.spawn"], capture_output=True, text=True)
    return [line for line in found.stdout.split() if line]
