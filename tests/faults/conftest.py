"""The fault suite (issue 16 §1) runs on the session's real Kafka broker (``kafka_broker``, tests/conftest.py)
and SQLite; every test here carries the ``faults`` marker (``-m faults`` / ``-m "not faults"``)."""
from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: a fault scenario on a real broker (tests/faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.faults)
