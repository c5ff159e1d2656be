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

from solver.rules import (
    Ledger,
    conflicts_with_any,
    deferrable,
    group_key,
    last_ends,
    latest_end,
    room_counts,
)
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
        return Ledger.of(self.problem.cohorts)

    @cached_property
    def group_last_end(self) -> dict[tuple, date]:
        return last_ends(self.problem.cohorts)

    @cached_property
    def groups(self) -> dict[tuple, tuple[list[CohortOption], list[date]]]:
        """Cohorts per programme group in start order, with their start dates (for bisecting)."""
        grouped: dict[tuple, list[CohortOption]] = defaultdict(list)
        for cohort in sorted(self.problem.cohorts, key=lambda c: (c.start_date, c.cohort_id)):
            grouped[group_key(cohort)].append(cohort)
        return {key: (cs, [c.start_date for c in cs]) for key, cs in grouped.items()}

    def deferrable(self, demand: Demand) -> bool:
        """Could still finish in time on a cohort starting after every cohort in this plan's grid."""
        return deferrable(demand, self.group_last_end, self.params)

    def held_places(self, starting_by: date | None = None) -> dict[str, list[str]]:
        """Running cohort id → the waiting people who hold a still-compatible place on it (only cohorts
        starting by ``starting_by``, when given). A cohort whose holders outnumber its free places is
        left out: the input over-committed it, and no rule can keep every one of those promises. Holders
        who became non-associated with each other are left out too: the safety rule beats the promise,
        and the plan decides which of them keeps the place (the rule would otherwise make it infeasible)."""
        held: dict[str, list[Demand]] = defaultdict(list)
        for demand in self.problem.demands:
            cohort = self.cohorts.get(demand.current_cohort_id or "")
            if (cohort is not None and cohort.state == CohortState.OPEN
                    and (starting_by is None or cohort.start_date <= starting_by)
                    and (demand.referral_id, cohort.cohort_id) in self.vars.x):
                held[cohort.cohort_id].append(demand)
        return {cid: [d.referral_id for d in holders if not conflicts_with_any(d, (o for o in holders if o is not d))]
                for cid, holders in sorted(held.items()) if len(holders) <= self.cohorts[cid].free_places}

    def candidates(self) -> Iterable[CohortOption]:
        return (c for c in self.problem.cohorts if c.state == CohortState.CANDIDATE)


def allow(build: Build, pair_rules: Mapping[str, PairRule], staff_rules: Mapping[str, StaffRule]) -> None:
    """Record the places every pair rule allows, and for each candidate someone could join (or with fixed
    members) the facilitators every staff rule allows; no variables yet (see :func:`create_variables`)."""
    problem, v = build.problem, build.vars
    rules = tuple(pair_rules.values())
    for demand in problem.demands:
        for cohort in _near(build, demand, pair_rules):
            if all(rule(demand, cohort, problem) for rule in rules):
                v.allow(demand.referral_id, cohort.cohort_id)
    staff = tuple(staff_rules.values())
    for cohort in build.candidates():
        if v.joinable_of.get(cohort.cohort_id) or cohort.members:
            v.eligible_of[cohort.cohort_id] = [f.facilitator_id for f in problem.facilitators
                                               if all(rule(f, cohort, problem) for rule in staff)]


def create_variables(build: Build, pruning: tuple[set[tuple[str, str]], set[str]] | None = None) -> None:
    """Places for allowed pairs, openings for candidates someone could join, staff for eligible pairs (as
    recorded by :func:`allow`), less the ``pruning`` — (staffings, candidates that never open) that the
    model's constraints fix to 0 (:func:`solver.prune.never_nonzero`)."""
    v = build.vars
    no_staff, closed = pruning or (set(), set())
    for rid, cids in v.options_of.items():
        for cid in cids:
            if cid not in closed:
                v.add_place(build.demands[rid], build.cohorts[cid])
    for cid, fids in v.eligible_of.items():
        if cid in closed:
            continue
        cohort = build.cohorts[cid]
        v.add_opening(cohort)
        for fid in fids:
            if (fid, cid) not in no_staff:
                v.add_staffing(build.facilitators[fid], cohort)
    v.pruned = v.allowed - len(v.x) - len(v.open) - len(v.staff)


def _near(build: Build, demand: Demand, pair_rules: Mapping[str, PairRule]) -> list[CohortOption]:
    """Only cohorts that could pass the programme, readiness and deadline rules when those are built:
    an index per programme group, in start order, cut to the start window (a speed-up, not a rule)."""
    if "programme" not in pair_rules:
        return list(build.problem.cohorts)
    group, starts = build.groups.get(group_key(demand), ([], []))
    first = bisect_left(starts, demand.ready_from) if "ready" in pair_rules else 0
    last = bisect_right(starts, latest_end(demand, build.params)) if "deadline" in pair_rules else len(group)
    return group[first:last]
