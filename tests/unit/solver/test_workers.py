"""The solver's worker processes (solver/workers.py) run at the CPU priority they were asked for, and the service's
allocator asks for the configured one (COHORTPLAN_SOLVER_NICENESS)."""
from __future__ import annotations

import os

import pytest

from engine.bootstrap import make_allocator
from engine.settings import EngineSettings
from solver.workers import run_in_worker

pytestmark = pytest.mark.skipif(not hasattr(os, "nice"), reason="niceness is a Unix priority")


def _niceness() -> int:
    return os.nice(0)


def test_a_pool_process_runs_the_niceness_it_was_asked_for_below_its_parent():
    mine = _niceness()
    assert run_in_worker(_niceness) == mine  # the default: the parent's own priority
    assert run_in_worker(_niceness, niceness=5) == min(19, mine + 5)
    assert _niceness() == mine  # the parent's is untouched


def test_the_service_allocator_solves_below_the_service_by_default_and_as_configured():
    assert make_allocator("cpsat", EngineSettings()).niceness == 10
    assert make_allocator("cpsat", EngineSettings(solver_niceness=0)).niceness == 0
    with pytest.raises(ValueError):
        EngineSettings(solver_niceness=20)
