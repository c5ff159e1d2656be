"""Kafka integration tests: one real single-node broker (KRaft) for the whole session.

- ``kafka_broker``: a ``KafkaBroker`` fetched from Maven Central (cached in ``.cache/kafka``)
  and started in a pytest tmp dir. A broker that cannot start is a FAILURE, never a skip.
- Every test in this directory carries the ``kafka`` marker (``-m kafka`` / ``-m "not kafka"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kafka_broker import KafkaBroker, KafkaError, KafkaUnavailable

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


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    failure: str | None = None
    try:
        broker.fetch()
        broker.start()
    except KafkaUnavailable as exc:
        failure = (
            f"{exc}\nKafka is required (never skipped): run the suite via scripts/test, which "
            "installs java and mvn when missing and fetches the broker jars up front."
        )
    except KafkaError as exc:  # its message ends with the tail of the broker log
        failure = f"Kafka broker {broker.version} did not start: {exc}"
    except Exception as exc:  # unexpected: still show what the broker logged
        failure = f"Kafka broker {broker.version} did not start: {exc!r}\n{broker.log_tail()}"
    if failure is not None:
        broker.kill()
        pytest.fail(failure, pytrace=False)
    try:
        yield broker
    finally:
        broker.stop()
