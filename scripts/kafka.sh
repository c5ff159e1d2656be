#!/usr/bin/env bash
# A local single-node Kafka broker (KRaft) from Maven Central jars, for local runs and benchmarks:
#   scripts/kafka.sh fetch|start|stop|status [--dir DIR]
# `start` runs it in the background (default DIR .cache/kafka/run) and prints the bootstrap
# address; `status` exits 3 when it is not running. Needs java (17+) and mvn.
# See tests/support/kafka_broker.py (COHORTPLAN_KAFKA_VERSION overrides the Kafka version).
set -euo pipefail

caller_pwd="$PWD"
# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
# _venv.sh moved to the repo root; go back so a relative --dir means what the caller meant.
cd "$caller_pwd"
# -P: the caller's directory must not shadow the repo's `tests` package.
PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$VENV/bin/python" -P -m tests.support.kafka_broker "$@"
