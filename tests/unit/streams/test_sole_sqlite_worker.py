"""A second worker on the same SQLite database refuses to start (RELIABILITY.md, known gaps: on SQLite the relay's
lock locks nothing, and two workers' relays sent the same rows twice)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from streams.ops import SharedSQLite, sole_sqlite_worker


def test_a_second_holder_of_the_same_sqlite_file_is_refused_with_what_to_do(tmp_path):
    url = f"sqlite:///{tmp_path}/service.db"
    assert sole_sqlite_worker(url) == f"{tmp_path}/service.db.worker.lock"
    code = ("import sys; from streams.ops import SharedSQLite, sole_sqlite_worker\n"
            "try:\n    sole_sqlite_worker(sys.argv[1])\nexcept SharedSQLite as e:\n    print(e); sys.exit(3)\n")
    other = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, timeout=60)
    assert other.returncode == 3, other.stderr
    assert f"{tmp_path}/service.db" in other.stdout and "PostgreSQL" in other.stdout


def test_another_sqlite_file_and_other_databases_are_not_locked(tmp_path):
    assert sole_sqlite_worker(f"sqlite:///{tmp_path}/a.db") is not None
    assert sole_sqlite_worker(f"sqlite:///{tmp_path}/b.db") is not None
    assert sole_sqlite_worker("sqlite:///:memory:") is None
    assert sole_sqlite_worker("sqlite://") is None
    assert sole_sqlite_worker("postgresql+psycopg://user@127.0.0.1/db") is None


def test_the_same_process_locking_its_file_twice_is_refused_too(tmp_path):
    url = f"sqlite:///{tmp_path}/twice.db"
    sole_sqlite_worker(url)
    with pytest.raises(SharedSQLite):
        sole_sqlite_worker(url)
