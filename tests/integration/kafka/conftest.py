"""Kafka integration tests: one real single-node broker (KRaft) for the whole session.

- ``kafka_broker`` (tests/conftest.py, shared with tests/faults): a ``KafkaBroker`` fetched from Maven
  Central (cached in ``.cache/kafka``) and started in a pytest tmp dir. A broker that cannot start is a
  FAILURE, never a skip.
- Every test in this directory carries the ``kafka`` marker (``-m kafka`` / ``-m "not kafka"``).
"""

from __future__ import annotations

from pathlib import Path

import pytest


_HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "kafka: needs the real Kafka broker (tests/support/kafka_broker.py)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees every collected item of the session, not only this directory's.
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.kafka)
