"""Solving a baseline and a scenario with the same allocator and parameters, and measuring both the same way."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from engine.services.whatif.apply import apply_scenario
from engine.services.whatif.base import Base
from engine.services.whatif.scenario import Scenario
from solver import schema as s
from solver.evaluate import plan_metrics
from solver.rules import compatible, deferrable, group_key, last_ends

# progress(label, done): called before (done=False) and after (done=True) every solve
SolveProgress = Callable[[str, bool], None]


@dataclass(frozen=True)
class Outcome:
    """How a plan does, measured the same way for the baseline and every scenario."""

    demands: int               # people in the plan (waiting for a start)
    within_reach: int          # of whom must start within the plan's reach (could not wait for a later plan)
    misses: int                # of those, unplaced: they will miss their deadline
    miss_pct: float            # misses / within_reach, in percent
    no_option: int             # of those, no cohort in the plan could take them in time (whatever the staff)
    median_wait_weeks: float   # referral to cohort start (unplaced: to the horizon's end)
    p92_wait_weeks: float
    cohorts_opened: int
    facilitator_hours: float   # in the cohorts the plan opens, over their run
    placed: int
    status: str
    solve_seconds: float
    note: str = ""


def measure(problem: s.Problem, plan: s.Plan, seconds: float | None = None,
            reach: Mapping[tuple, date] | None = None) -> Outcome:
    """The plan's outcome. A miss is a person who must start within the plan's reach (their latest end is
    not after the last cohort end of their programme group, so no later plan can help) and has no place.
    ``reach``: those last ends (default: this problem's); a comparison passes the baseline's, so that the
    same people count as within reach in every column, whatever cohorts a scenario adds."""
    metrics = plan_metrics(problem, plan)
    ends = reach if reach is not None else last_ends(problem.cohorts)
    placed = {a.referral_id for a in plan.assignments}
    within = [d for d in problem.demands if not deferrable(d, ends, problem.params)]
    misses = sum(1 for d in within if d.referral_id not in placed)
    return Outcome(len(problem.demands), len(within), misses,
                   round(100 * misses / len(within), 2) if within else 0.0, len(without_option(problem, within)),
                   metrics["median_wait_weeks"], metrics["p92_wait_weeks"], len(plan.opened),
                   metrics["facilitator_hours"], len(plan.assignments), plan.status,
                   round(plan.solve_seconds if seconds is None else seconds, 2), plan.note)


def without_option(problem: s.Problem, demands: Iterable[s.Demand]) -> list[s.Demand]:
    """People no cohort of the problem (running, planned or candidate) could take in time: no staffing
    change can place them, only new cohorts (an evening track, a venue) or an earlier start could."""
    by_group: dict[tuple, list[s.CohortOption]] = {}
    for c in problem.cohorts:
        by_group.setdefault(group_key(c), []).append(c)
    return [d for d in demands if all(compatible(d, c, problem.params, problem.as_of) is not None
                                      for c in by_group.get(group_key(d), ()))]


DIFFERENCES = ("demands", "within_reach", "misses", "miss_pct", "no_option", "median_wait_weeks", "p92_wait_weeks",
               "cohorts_opened", "facilitator_hours", "placed")


@dataclass(frozen=True)
class Comparison:
    region_code: str
    as_of: date
    allocator: str
    time_limit_s: float | None  # None: sized to the model
    scenario: Scenario
    changes: tuple[str, ...]
    baseline: Outcome
    outcome: Outcome

    @property
    def difference(self) -> dict[str, float]:
        return {k: round(getattr(self.outcome, k) - getattr(self.baseline, k), 2) for k in DIFFERENCES}

    def to_dict(self) -> dict[str, Any]:
        scenario = asdict(self.scenario)
        scenario["programmes"] = sorted(self.scenario.programmes) if self.scenario.programmes else None
        return {"region": self.region_code, "as_of": self.as_of.isoformat(), "allocator": self.allocator,
                "time_limit_s": self.time_limit_s, "scenario": scenario, "changes": list(self.changes),
                "baseline": asdict(self.baseline), "scenario_outcome": asdict(self.outcome),
                "difference": self.difference}


def solve(allocator: s.Allocator, problem: s.Problem, label: str, progress: SolveProgress | None,
          reach: Mapping[tuple, date]) -> Outcome:
    """One solve, measured against ``reach``; ``progress`` hears of it before and after."""
    if progress:
        progress(label, False)
    began = time.perf_counter()
    plan = allocator.allocate(problem)
    outcome = measure(problem, plan, time.perf_counter() - began, reach)
    if progress:
        progress(label, True)
    return outcome


def compare(base: Base, scenario: Scenario, allocator: s.Allocator, progress: SolveProgress | None = None,
            baseline: Outcome | None = None) -> Comparison:
    """Solve the unchanged state and the scenario with the same allocator and parameters."""
    problem, changes = apply_scenario(base, scenario)
    reach = last_ends(base.problem.cohorts)
    before = baseline or solve(allocator, base.problem, "baseline", progress, reach)
    after = before if scenario.empty else solve(allocator, problem, f"scenario: {scenario.describe()}", progress,
                                                 reach)
    p = base.problem
    return Comparison(p.region_code, p.as_of, allocator.name, p.params.time_limit_s, scenario, tuple(changes),
                      before, after)
