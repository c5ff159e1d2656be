"""One model under construction: the problem, its lookups, the CP-SAT model and its variables.

Every constraint module receives a :class:`Build` and adds its rule; every objective module reads one
and returns its :class:`Term`. :func:`build_model` composes whichever rules it is given, so a test can
build a tiny model with exactly one rule.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from ortools.sat.python import cp_model

from solver.rules import Ledger, group_key, latest_end, room_counts
from solver.schema import CohortOption, CohortState, Demand, Facilitator, Problem
from solver.variables import PairRule, StaffRule, Variables

HOURS_SCALE = 100  # facilitator hours are modelled in hundredths of an hour


@dataclass
class Term:
    """One objective term: sum(coef × var) + constant, in its priority tier (1 = most important)."""

    name: str
    tier: int
    coefs: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)
    constant: int = 0

    def add(self, coef: int, var: cp_model.IntVar) -> None:
        if coef:
            self.coefs.append((coef, var))

    def expr(self) -> cp_model.LinearExpr:
        if not self.coefs:
            return cp_model.LinearExpr.constant(self.constant)
        coefs, variables = zip(*self.coefs)
        return cp_model.LinearExpr.weighted_sum(list(variables), list(coefs)) + self.constant

    def value(self, value_of: Callable[[cp_model.IntVar], int]) -> int:
        return self.constant + sum(coef * value_of(var) for coef, var in self.coefs)

    def upper_bound(self) -> int:
        return self.constant + sum(max(coef, 0) for coef, _ in self.coefs)


Constraint = Callable[["Build"], None]
Objective = Callable[["Build"], Term]


class Build:
    def __init__(self, problem: Problem, model: cp_model.CpModel | None = None) -> None:
        self.problem, self.params, self.as_of = problem, problem.params, problem.as_of
        self.model = model or cp_model.CpModel()
        self.vars = Variables(self.model)
        self.demands: dict[str, Demand] = {d.referral_id: d for d in problem.demands}
        self.cohorts: dict[str, CohortOption] = {c.cohort_id: c for c in problem.cohorts}
        self.facilitators: dict[str, Facilitator] = {f.facilitator_id: f for f in problem.facilitators}
        self.rooms: dict[str, int] = room_counts(problem)
        self.terms: list[Term] = []

    @property
    def horizon_end(self) -> date:
        return self.as_of + timedelta(weeks=self.params.horizon_weeks)

    @cached_property
    def running(self) -> Ledger:
        """Claims already made by OPEN cohorts: hours, facilitator slots and rooms the plan cannot use."""
        ledger = Ledger()
        for cohort in self.problem.cohorts:
            if cohort.state == CohortState.OPEN:
                ledger.add(cohort, cohort.facilitator_ids)
        return ledger

    @cached_property
    def group_last_end(self) -> dict[tuple, date]:
        """The latest end of any cohort per programme group: beyond it, the plan has nothing to offer."""
        last: dict[tuple, date] = {}
        for cohort in self.problem.cohorts:
            key = group_key(cohort)
            last[key] = max(last.get(key, cohort.end_date), cohort.end_date)
        return last

    def deferrable(self, demand: Demand) -> bool:
        """Could still finish in time on a cohort starting after every cohort in this plan's grid."""
        last = self.group_last_end.get(group_key(demand))
        return last is not None and latest_end(demand, self.params) > last

    def candidates(self) -> Iterable[CohortOption]:
        return (c for c in self.problem.cohorts if c.state == CohortState.CANDIDATE)


def create_variables(build: Build, pair_rules: Mapping[str, PairRule],
                     staff_rules: Mapping[str, StaffRule]) -> None:
    """Places for allowed pairs, openings for candidates someone could join, staff for eligible pairs."""
    problem, v = build.problem, build.vars
    for demand in problem.demands:
        for cohort in _near(build, demand, pair_rules):
            if all(rule(demand, cohort, problem) for rule in pair_rules.values()):
                v.add_place(demand, cohort)
    for cohort in build.candidates():
        if not v.demands_of.get(cohort.cohort_id) and not cohort.members:
            continue
        v.add_opening(cohort)
        for facilitator in problem.facilitators:
            if all(rule(facilitator, cohort, problem) for rule in staff_rules.values()):
                v.add_staffing(facilitator, cohort)


def _near(build: Build, demand: Demand, pair_rules: Mapping[str, PairRule]) -> list[CohortOption]:
    """Only cohorts that could pass the programme, readiness and deadline rules when those are built:
    an index per programme group, in start order, cut to the start window (a speed-up, not a rule)."""
    if "programme" not in pair_rules:
        return list(build.problem.cohorts)
    group, starts = _groups(build).get(group_key(demand), ([], []))
    first = bisect_left(starts, demand.ready_from) if "ready" in pair_rules else 0
    last = bisect_right(starts, latest_end(demand, build.params)) if "deadline" in pair_rules else len(group)
    return group[first:last]


def _groups(build: Build) -> dict[tuple, tuple[list[CohortOption], list[date]]]:
    cached = build.__dict__.get("_group_index")
    if cached is None:
        grouped: dict[tuple, list[CohortOption]] = defaultdict(list)
        for cohort in sorted(build.problem.cohorts, key=lambda c: (c.start_date, c.cohort_id)):
            grouped[group_key(cohort)].append(cohort)
        cached = {key: (cs, [c.start_date for c in cs]) for key, cs in grouped.items()}
        build.__dict__["_group_index"] = cached
    return cached
