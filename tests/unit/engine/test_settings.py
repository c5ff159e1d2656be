"""Settings that choose how plans are made: the equity goal's groupings and the sized time limit."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.settings import EngineSettings


def test_an_unknown_equity_dimension_is_refused_naming_it_and_the_known_ones(monkeypatch):
    monkeypatch.setenv("COHORTPLAN_EQUITY_DIMENSIONS", '["sex", "age"]')
    with pytest.raises(ValidationError, match="unknown equity dimension.s. age; known: sex, ldc, ethnicity, pdu"):
        EngineSettings()


def test_the_equity_settings_reach_the_solver_and_the_goal_is_off_by_default(monkeypatch, memory_bootstrap):
    default = memory_bootstrap(EngineSettings()).params()
    assert (default.equity_weight, default.equity_dimensions) == (0, ("sex", "ldc", "ethnicity", "pdu"))
    monkeypatch.setenv("COHORTPLAN_EQUITY_WEIGHT", "2")
    monkeypatch.setenv("COHORTPLAN_EQUITY_DIMENSIONS", '["sex", "ldc"]')
    params = memory_bootstrap(EngineSettings()).params()
    assert (params.equity_weight, params.equity_dimensions, params.equity_gap_points) == (2, ("sex", "ldc"), 5.0)


def test_the_time_limit_is_sized_to_the_model_unless_one_is_set(monkeypatch, memory_bootstrap):
    assert memory_bootstrap(EngineSettings()).params().time_limit_s is None
    monkeypatch.setenv("COHORTPLAN_SOLVER_TIME_LIMIT_S", "3")
    assert memory_bootstrap(EngineSettings()).params().time_limit_s == 3.0
