"""The fault suite (issue 16 §1) runs on the session's real Kafka broker (``kafka_broker``, tests/conftest.py)
and SQLite (PostgreSQL in scenario 4); every test here carries the ``faults`` marker (``-m faults`` /
``-m "not faults"``). ``clean_file`` is the generated region every scenario feeds (its size:
``COHORTPLAN_FAULTS_WEEKS``, ``COHORTPLAN_FAULTS_SCALE``), generated once per session."""
from __future__ import annotations

from pathlib import Path

import pytest

from simulator import GeneratorParams, generate
from tests.faults.runs import SCALE, WEEKS

_HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: a fault scenario on a real broker (tests/faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def clean_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "events.jsonl"
    generate(GeneratorParams(weeks=WEEKS, scale=SCALE, seed=11), path)
    return path
