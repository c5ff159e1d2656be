"""Run test files again inside the current test, noting which file did what: the meta-tests that every hard
rule and every alert rule is exercised by its own tests use it.

Why run them rather than read them: a test file can exist, name the rule and still never show it acting.
Running the files while listening to the calls that matter (a CP-SAT solve, a rule's ``evaluate`` and
``cleared``) checks what the tests do, not what they say.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest


class Recorder:
    """A pytest plugin: ``note(record)`` files ``record`` under the test file being run."""

    def __init__(self) -> None:
        self.by_file: dict[str, list] = defaultdict(list)
        self._file = ""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item):
        self._file = item.path.name
        try:
            return (yield)
        finally:
            self._file = ""

    def note(self, record) -> None:
        self.by_file[self._file].append(record)


def run_test_files(paths: Iterable[Path], recorder: Recorder, basetemp: Path) -> int:
    """Run ``paths`` in this process with ``recorder`` listening; pytest's exit code (0 when all passed).
    ``basetemp`` keeps the inner run's temporary directories away from the outer run's."""
    paths = sorted(str(p) for p in paths)
    if not paths:
        return 0
    args = ["-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}", *paths]
    return int(pytest.main(args, plugins=[recorder]))
