"""Issue 12: a generated region replayed with weekly plans passes the invariant checker after every
plan, with both the current-practice baseline and CP-SAT, and no plan is refused by the gate."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.domain.regions import load_region
from engine.domain.rules import EngineRules
from engine.invariants import check_region
from engine.persistence.database import Database
from engine.services.ingest import Ingestor
from engine.services.planning import Planner
from engine.services.replay import Replay, read_lines
from simulator import GeneratorParams, generate
from solver.baselines import CurrentPracticeAllocator
from solver.model import CpSatAllocator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def region_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("region") / "events.jsonl"
    generate(GeneratorParams(weeks=20, seed=12, scale=0.3), path)
    return path


class CheckedPlanner(Planner):
    """A planner that runs the state invariant checker after each plan it publishes."""

    reports: list

    def plan(self, region, as_of, programmes=None):
        outcome = super().plan(region, as_of, programmes)
        with self._uow_factory() as uow:
            self.reports.append((as_of, outcome, check_region(uow, region, as_of, self.rules)))
        return outcome


@pytest.mark.parametrize("allocator", [CurrentPracticeAllocator(), CpSatAllocator(in_process=True)],
                         ids=["current-practice", "cpsat"])
def test_every_plan_of_a_generated_region_keeps_every_invariant(region_file, tmp_path, allocator):
    db, rules = Database(f"sqlite:///{tmp_path}/inv.db"), EngineRules()
    with db.uow() as uow:
        region = load_region("default")
        uow.save_offices(region.region_code, region.offices)
        uow.commit()
    planner = CheckedPlanner(db.uow, allocator, rules)
    planner.reports = []
    Replay(Ingestor(db.uow, rules), planner, timedelta(days=7), batch_size=500).run(read_lines(region_file))
    assert len(planner.reports) >= 15
    assert sum(outcome.made for _, outcome, _ in planner.reports) > 50, "the region placed people"
    for as_of, outcome, report in planner.reports:
        assert outcome.rejected == [], f"plan as of {as_of} refused: {outcome.rejected[:3]}"
        assert report.violations == [], f"after the plan as of {as_of}: {report.violations[:5]}"
