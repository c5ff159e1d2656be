"""The CP-SAT allocator: compose the registered rules and goals, solve tier by tier, return a Plan.

Warm start and safety net: the current-practice plan for the same problem is computed first, hinted
in full, and its tier-1 value bounds the search, so the published plan is never worse on deadline
misses than current practice. If CP-SAT finds nothing in time, or its plan fails the independent
checker, the current-practice plan is returned instead (status ``FALLBACK``).
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from solver.baselines import CurrentPracticeAllocator
from solver.build import Build, Constraint, Objective, Term, allow, create_variables
from solver.check import check_plan
from solver.constraints import CONSTRAINTS, PAIR_RULES, STAFF_RULES
from solver.evaluate import plan_metrics
from solver.explain import Explainer, assignment
from solver.flow_hint import flow_plan, satisfies
from solver.objectives import OBJECTIVES
from solver.prune import never_nonzero
from solver.schema import OpenedCohort, Plan, Problem
from solver.variables import PairRule, StaffRule

STABILITY_FIRST = 1.5  # a tier between deadline misses (1) and waits (2): plan changes, where they rank first
# Of the time limit; unused time rolls forward. A stability tier ranked above waits starts from the deadline stage's
# solution, which moves published places freely: with 0.1 of the budget it kept 119 of a union grid's changes,
# with 0.5 it halved them to 59 and waits fell too (BENCHMARKS.md issue 14, session 13).
TIER_SHARE = {1: 0.4, STABILITY_FIRST: 0.3, 2: 0.35, 3: 0.1, 4: 0.15}
# Deterministic time units per wall second with 2 interleaved workers on the 2-core CI machine: about 0.35
# with a second job running, 0.7-1.6 idle (BENCHMARKS.md). A reproducible solve therefore takes at most
# about time_limit_s of wall time on a busy machine and a half to a fifth of it on an idle one; the wall
# cap (WALL_CAP × time_limit_s) holds whatever the load.
DETERMINISTIC_PER_SECOND = 0.35
WALL_CAP = 4.0  # a reproducible solve stops at this multiple of time_limit_s whatever the deterministic budget:
# 2× was cut short by a modest background load on 1 s demo plans, breaking reproducibility
MAX_COEF = 2 ** 62
# A first stage that ends without any solution (its share of a small budget spent in presolve on a large model)
# is run once more with at least this many deterministic seconds per model variable: CP-SAT reports the
# complete current-practice hint only once presolve is done, which took about 0.25 deterministic seconds for
# the 27,182 variables of a region twice the default (BENCHMARKS.md, issue 14); 2.5× that leaves room to
# improve on it. Only runs that would otherwise fall back pay for it, so plans that found a solution are
# unchanged.
FIRST_SOLUTION_DET_PER_VARIABLE = 2.3e-5
FIRST_SOLUTION_MIN_WALL_S = 5.0
# Presolve's need is not in proportion to the variables alone: the first plan of the default region (376 people
# waiting at once, 6,318 variables) needed 0.5 deterministic seconds, not the 0.15 the rate above gives, and every
# 1 s demo run fell back on it (BENCHMARKS.md issue 14 session 14). So the retry gets at least GROWTH times what
# the stage spent, and, while it still finds nothing, GROWTH times more, ATTEMPTS runs in all.
FIRST_SOLUTION_GROWTH = 4.0
FIRST_SOLUTION_ATTEMPTS = 3
# A plan without a time limit of its own (Params.time_limit_s None, the service's default) gets one sized to its
# model: SIZED_SECONDS_PER_VARIABLE per model variable, within [SIZED_MIN_S, SIZED_MAX_S]. Read off the budget
# sweep (bench/budget_bench.py, BENCHMARKS.md issue 14 §3): the smallest limit that got the whole gain of a 60 s
# plan was 3 s for the default region (5,233 variables), 30 s at twice its size (27,182) and 60 s at three
# times (103,739); 1.1e-3 s per variable covers the largest per-variable need (twice the size).
SIZED_SECONDS_PER_VARIABLE = 1.1e-3
SIZED_MIN_S, SIZED_MAX_S = 1.0, 120.0
# A model with at least LNS_FIRST_MIN_VARIABLES variables and a complete warm start spends LNS_FIRST_SHARE of each
# stage in large-neighbourhood search only (use_lns_only, light presolve) before the full search, which the
# first stage needs for its proven bound. On 2 workers the interleaved full search gives LNS a small share of
# the time: for a region twice the default, 0.7 deterministic seconds on tier 1 found 1 fewer weighted miss
# than the hinted current practice, LNS alone 84 fewer; three times the default, 7 against 124 in 1.75 s
# (BENCHMARKS.md issue 14 §3, LNS from the hint first). The default region (about 5,200 variables) proves optimality without it.
LNS_FIRST_MIN_VARIABLES = 15_000
LNS_FIRST_SHARE = 0.85
# Such plans rank plan changes right after deadline misses, as incremental re-plans do (STABILITY_FIRST), and
# give the two most of the budget: LNS makes the waits stage effective, and with waits above changes it moved
# published places for every few weeks of waiting — 10,159 changes over two years of a region twice the
# default at 5 s, 50 times the full search's 202 (BENCHMARKS.md issue 14 §3).
LNS_FIRST_TIER_SHARE = {1: 0.6, STABILITY_FIRST: 0.25, 2: 0.1, 4: 0.05}
LNS_PARAMETERS = {"use_lns_only": True, "cp_model_probing_level": 0, "symmetry_level": 0}


def sized_time_limit(variables: int) -> float:
    """Seconds for a plan whose model has ``variables`` variables (see SIZED_SECONDS_PER_VARIABLE)."""
    return round(min(SIZED_MAX_S, max(SIZED_MIN_S, variables * SIZED_SECONDS_PER_VARIABLE)), 1)


@dataclass
class Rules:
    """Which rules and goals to build: all of them in production, one at a time in the rule tests."""

    pair: Mapping[str, PairRule] = field(default_factory=lambda: PAIR_RULES)
    staff: Mapping[str, StaffRule] = field(default_factory=lambda: STAFF_RULES)
    constraints: Mapping[str, Constraint] = field(default_factory=lambda: CONSTRAINTS)
    objectives: Mapping[str, Objective] = field(default_factory=lambda: OBJECTIVES)


class _Trace(cp_model.CpSolverSolutionCallback):
    """Records (seconds since the solve began, stage, objective) for every improving solution."""

    def __init__(self, began: float, stage: str, points: list) -> None:
        super().__init__()
        self.began, self.stage, self.points = began, stage, points

    def on_solution_callback(self) -> None:
        self.points.append((round(time.perf_counter() - self.began, 4), self.stage, self.objective_value))


def build(problem: Problem, rules: Rules | None = None, prune: bool | None = None) -> Build:
    """The model of ``problem`` under ``rules``. ``prune`` leaves out the variables the constraints fix to 0
    on the running groups' claims alone (solver.prune: the same feasible plans, a fraction of the variables);
    by default only for a large model (LNS_FIRST_MIN_VARIABLES decision variables before pruning), so the
    default region's model, and its plans, are exactly as before."""
    rules = rules or Rules()
    b = Build(problem)
    allow(b, rules.pair, rules.staff)
    if prune is None:
        prune = b.vars.allowed >= LNS_FIRST_MIN_VARIABLES
    create_variables(b, never_nonzero(b, rules.constraints) if prune else None)
    for add in rules.constraints.values():
        add(b)
    b.terms = [objective(b) for objective in rules.objectives.values()]
    return b


def model_size(b: Build) -> int:
    """The model's variables before pruning: what the sized budget and the LNS-first threshold were read off
    (BENCHMARKS.md issue 14 §3), so pruning a large model changes neither."""
    return len(b.model.proto.variables) + b.vars.pruned


def tiers(b: Build, stability_first: bool = False) -> dict[float, list[Term]]:
    """Terms by tier. An incremental re-plan (params.focus) ranks stability above waits: one new
    referral must not reshuffle other people's published places to shave a few weeks off waits; so does
    an LNS-first plan (``stability_first``, see LNS_FIRST_MIN_VARIABLES), and every plan with
    ``params.stability_first`` (COHORTPLAN_STABILITY_FIRST)."""
    stability_first = stability_first or b.params.stability_first or b.params.focus is not None
    out: dict[float, list[Term]] = {}
    for term in b.terms:
        tier = STABILITY_FIRST if stability_first and term.name == "plan_changes" else term.tier
        out.setdefault(tier, []).append(term)
    return dict(sorted(out.items()))


def tier_expr(terms: list[Term]) -> cp_model.LinearExpr:
    return sum((t.expr() for t in terms), cp_model.LinearExpr.constant(0))


class CpSatAllocator:
    """The production allocator. ``in_process=False`` runs each solve in a worker process, ``niceness`` below this
    one's CPU priority (:mod:`solver.workers`)."""

    name = "cpsat"

    def __init__(self, rules: Rules | None = None, in_process: bool = True, warm_start: bool = True,
                 niceness: int = 0) -> None:
        self.rules, self.in_process, self.warm_start, self.niceness = rules, in_process, warm_start, niceness

    def allocate(self, problem: Problem) -> Plan:
        if self.in_process:
            return solve(problem, self.rules, self.warm_start)
        from solver.workers import run_in_worker
        return run_in_worker(solve, problem, self.rules, self.warm_start, niceness=self.niceness)


def solve(problem: Problem, rules: Rules | None = None, warm_start: bool = True) -> Plan:
    if warm_start and problem.params.focus is None and problem.core() is not problem:
        return _core_first(problem, rules)
    began = time.perf_counter()  # the trace's clock: from the call, the model's building included
    return _solve(problem, build(problem, rules), rules, warm_start, began)


def _core_first(problem: Problem, rules: Rules | None) -> Plan:
    """A plan with candidates beyond the grid's budget (``CohortOption.extra``): first the plan without them,
    then the whole model from it, hinted and bounded on deadline misses by it, so more candidates never make a
    worse plan. The time is the whole model's: sized (the service's default), the core gets what its own size is
    worth and the rest the remainder, and the whole model is built only once the core's plan exists (its first
    solution is then as early as without the extras: BENCHMARKS.md, session 16); a fixed limit is split in
    proportion to the two models' sizes, so both are built first."""
    began = time.perf_counter()
    core_problem = problem.core()
    core_b = build(core_problem, rules)
    limit = problem.params.time_limit_s
    full_b = None if limit is None else build(problem, rules)  # a fixed limit's split needs both sizes first
    core_limit = sized_time_limit(model_size(core_b)) if full_b is None else \
        limit * model_size(core_b) / max(model_size(full_b), 1)
    core = _solve(core_problem, core_b, rules, True, began, core_limit)
    if full_b is None:
        full_b = build(problem, rules)
    total = sized_time_limit(model_size(full_b)) if limit is None else limit
    rest = max(total - core_limit, min(SIZED_MIN_S, total))
    plan = _solve(problem, full_b, rules, True, began, rest, core)
    # The core's solutions are the plan's first (a plan of the whole model: no extra candidate opened, the same
    # objective), on the same clock: the trace says when the first feasible and first better plans existed.
    core_trace = tuple((t, f"{stage}/core", value) for t, stage, value in core.trace)
    return replace(plan, trace=core_trace + (() if plan.trace == core.trace else plan.trace))


def _solve(problem: Problem, b: Build, rules: Rules | None, warm_start: bool, began: float,
           time_limit_s: float | None = None, start_plan: Plan | None = None) -> Plan:
    """Solve the built model ``b`` of ``problem`` in ``time_limit_s`` (None: the problem's own limit, or sized to
    the model). The warm start is ``start_plan`` when given (a plan of a smaller model of the same problem, which
    is returned if nothing better is found), else the current-practice plan (returned as a fallback)."""
    baseline = start_plan or (CurrentPracticeAllocator().allocate(problem) if warm_start else None)

    def give_up(why: str) -> Plan:
        """The warm start instead of the search's plan: the plan without the extra candidates stands as it was
        solved (noted), or current practice is the fallback."""
        if start_plan is not None:
            note = "; ".join(n for n in (start_plan.note, f"extra candidates: {why}") if n)
            return replace(start_plan, solve_seconds=time.perf_counter() - began, note=note)
        return _fallback(baseline, problem, began, why)

    by_tier = tiers(b)
    size = model_size(b)
    large = size >= LNS_FIRST_MIN_VARIABLES
    start = _warm_start(b, by_tier, baseline)
    flowed = _flow_start(b, by_tier, baseline, start) if large and start is not None else None
    flowed_at = time.perf_counter() - began
    start = flowed[0] if flowed else start
    sized = problem.params.time_limit_s is None
    lns_first = start is not None and large
    if lns_first:  # tier 1 is unchanged, so the warm start's tier-1 bound holds
        by_tier = tiers(b, stability_first=True)
    limit = time_limit_s or (sized_time_limit(size) if sized else problem.params.time_limit_s)
    run = _Run(b, began, limit, lns_first=lns_first)
    if flowed:  # a checked plan from here on, though CP-SAT reports it only once presolve is done
        run.trace.append((round(flowed_at, 4), "T1/flow", float(start[1])))
    if problem.params.objective_mode == "weighted":
        run.weighted(by_tier)
    else:
        run.lexicographic(by_tier)
    if run.values is None and flowed and not run.infeasible:
        run.stand(flowed[1], by_tier, "no CP-SAT solution within the time limit: the checked flow warm start stands")
    if run.values is None:
        why = ("the model is infeasible (contradictory input: see the rule tests)" if run.infeasible
               else "no CP-SAT solution within the time limit")
        return give_up(why)
    plan = run.plan(by_tier)
    if sized:  # the budget it was given, for the plan record and the report
        spent = run.budget.time_limit_s + (start_plan.objective.get("time_limit_s", 0.0) if start_plan else 0.0)
        plan = replace(plan, objective={**plan.objective, "time_limit_s": spent})
    if start is not None and run.tier_values.get(1, 0) > start.get(1, 0):
        if problem.params.focus is not None:  # the cells held fixed cost deadlines: re-plan everything
            return solve(replace(problem, params=replace(problem.params, focus=None)), rules, warm_start)
        return give_up("CP-SAT plan worse on deadline misses than current practice")
    if start_plan is not None and start is not None and _ranks(run.tier_values) > _ranks(
            _tier_values(by_tier, _values_of(b, start_plan))):  # by_tier: the tiers the search ranked by
        return give_up("the plan with them ranks below the plan without them")
    violations = check_plan(problem, plan)
    if violations:
        return give_up(f"CP-SAT plan failed the checker: {violations[0].message}")
    return plan


def _ranks(values: Mapping[float, int]) -> tuple[int, ...]:
    """Tier values in rank order, compared lexicographically."""
    return tuple(v for _, v in sorted(values.items()))


def _values_of(b: Build, plan: Plan) -> dict[int, int]:
    return b.vars.values_of({a.referral_id: a.cohort_id for a in plan.assignments},
                            {o.cohort_id: o.facilitator_ids for o in plan.opened})


def _warm_start(b: Build, by_tier: dict[float, list[Term]], baseline: Plan | None) -> dict[float, int] | None:
    """Hint the current-practice plan and return its tier values. When the model can express it and no
    cells are held fixed, its tier 1 also bounds the search (so the solve can never end worse)."""
    if baseline is None:
        return None
    chosen = {a.referral_id: a.cohort_id for a in baseline.assignments}
    opened = {o.cohort_id: o.facilitator_ids for o in baseline.opened}
    values = b.vars.values_of(chosen, opened)
    b.vars.hint(values)
    if not b.vars.represents(chosen, opened):
        return None
    start = _tier_values(by_tier, values)
    if 1 in start and b.params.focus is None:
        b.model.add(tier_expr(by_tier[1]) <= start[1])
    return start


def _flow_start(b: Build, by_tier: dict[float, list[Term]], baseline: Plan,
                start: dict[float, int]) -> tuple[dict[float, int], dict[int, int]] | None:
    """Hint the flow plan built on current practice's (solver.flow_hint) instead, and bound tier 1 by it, when it
    satisfies every constraint of the model and misses fewer weighted deadlines: (its tier values, its values)."""
    better = flow_plan(b, baseline) if 1 in start else None
    if better is None:
        return None
    values = b.vars.values_of(*better)
    flowed = _tier_values(by_tier, values)
    if flowed[1] >= start[1] or not satisfies(b.model, values):
        return None
    b.vars.hint(values)
    b.model.add(tier_expr(by_tier[1]) <= flowed[1])
    return flowed, values


def _tier_values(by_tier: dict[float, list[Term]], values: Mapping[int, int]) -> dict[float, int]:
    return {tier: sum(t.value(lambda v: values.get(v.index, 0)) for t in terms) for tier, terms in by_tier.items()}


def _fallback(baseline: Plan | None, problem: Problem, began: float, why: str) -> Plan:
    if baseline is None:
        raise RuntimeError(f"cpsat for region {problem.region_code}: {why}, and no warm start to fall back on")
    objective = {**plan_metrics(problem, baseline), "fallback": 1.0}
    return replace(baseline, allocator="cpsat", status="FALLBACK", objective=objective,
                   solve_seconds=time.perf_counter() - began, note=why)


class _Budget:
    """Time per stage. Reproducible runs (the default) budget CP-SAT's deterministic time, so the same
    problem gives the same plan on any machine and under any load, with the wall clock only as a cap
    (hitting it is noted on the plan); otherwise stages get wall seconds. Unused time rolls forward."""

    def __init__(self, params, time_limit_s: float) -> None:
        self.reproducible, self.workers, self.seed = params.reproducible, max(1, params.workers), params.seed
        self.time_limit_s = time_limit_s
        self.left = time_limit_s * (DETERMINISTIC_PER_SECOND if self.reproducible else 1.0)
        # from the first stage, not from the solve's start: building a large model and its current-practice
        # warm start took 8-25 s of a busy machine at three times the default region, and a cap counted from
        # before them left CP-SAT nothing, so those plans depended on the load (BENCHMARKS.md issue 14)
        self.wall_deadline = time.perf_counter() + time_limit_s * WALL_CAP
        self.capped = False

    def solver(self, share: float, floor: float = 0.0, lns: bool = False) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        budget, wall = max(0.01, self.left * share, floor), max(0.05, self.wall_deadline - time.perf_counter())
        if lns:
            for name, value in LNS_PARAMETERS.items():
                setattr(solver.parameters, name, value)
        if floor:  # a floor the budget did not have: its own wall cap, as for a time limit worth the floor, and
            # never below FIRST_SOLUTION_MIN_WALL_S (a small model's floor gave 0.7 s, which a loaded machine's
            # presolve overran: the retry found nothing and the plan fell back)
            wall = max(wall, floor / DETERMINISTIC_PER_SECOND * WALL_CAP, FIRST_SOLUTION_MIN_WALL_S)
            # and the stages after it are capped from its end, not flagged as cut short by the cap it moved
            self.wall_deadline = max(self.wall_deadline, time.perf_counter() + wall)
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.seed
        if self.reproducible:
            solver.parameters.max_deterministic_time = budget
            solver.parameters.interleave_search = self.workers > 1
            solver.parameters.max_time_in_seconds = wall
        else:
            solver.parameters.max_time_in_seconds = min(budget, wall)
        return solver

    def spend(self, solver: cp_model.CpSolver) -> None:
        used = solver.response_proto.deterministic_time if self.reproducible else solver.wall_time
        self.left = max(0.0, self.left - used)
        # cut short by the wall, not ended by its deterministic budget: it used all the wall time it was given (a
        # stage that merely ended past the cap's moment, its budget spent, was flagged before: every stage of a
        # plan whose first-solution retry outlasted the cap)
        self.capped |= self.reproducible and solver.wall_time >= solver.parameters.max_time_in_seconds - 0.01


class _Run:
    def __init__(self, b: Build, began: float, time_limit_s: float, lns_first: bool = False) -> None:
        self.b, self.began, self.params, self.lns_first = b, began, b.params, lns_first
        self.budget = _Budget(b.params, time_limit_s)
        self.values: dict[int, int] | None = None
        self.tier_values: dict[float, int] = {}
        self.bounds: dict[float, float] = {}
        self.statuses: list[str] = []
        self.infeasible = False
        self.trace: list[tuple[float, str, float]] = []
        self.why_no_search = ""  # set when a warm start stands in for a search that found nothing

    def _solve(self, stage: str, share: float, bound: bool = False) -> tuple[cp_model.CpSolver, int, float]:
        """One stage on ``share`` of the budget left: (the solver holding its best solution, status, a proven
        bound on the objective). With ``lns_first``, LNS from the hint (or the last stage's solution) first,
        then, for a stage whose ``bound`` matters (tier 1), the full search from LNS's solution for the rest.
        A stage that found nothing before presolve ended is run once more (the first-solution retry)."""
        lns, whole = self.lns_first, self.budget.left * share
        # the full search only where its part of the stage outlasts presolve: a shorter one ends before it
        # has a solution (0.17 of a 5 s plan's deterministic seconds at three times the default region)
        split = lns and bound and (not self.budget.reproducible
                                   or whole * (1 - LNS_FIRST_SHARE) >= self._presolve_floor())
        solver, status = self._solve_once(f"{stage}/lns" if lns else stage,
                                          share * (LNS_FIRST_SHARE if split else 1.0), lns=lns)
        if status == cp_model.UNKNOWN and self.values is None and self.budget.reproducible:
            solver, status = self._first_solution(stage, lns, solver.response_proto.deterministic_time)
        if not split or status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return solver, status, solver.best_objective_bound
        self._keep(solver)
        full, full_status = self._solve_once(stage, min(1.0, whole * (1 - LNS_FIRST_SHARE) / max(self.budget.left,
                                                                                             1e-9)))
        proven = max(solver.best_objective_bound, full.best_objective_bound)  # both are lower bounds
        if full_status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and full.objective_value <= solver.objective_value:
            return full, full_status, proven
        return solver, status, proven

    def _first_solution(self, stage: str, lns: bool = False, spent: float = 0.0) -> tuple[cp_model.CpSolver, int]:
        """The stage again, its share having ended before presolve did: with a budget sized to the model and at
        least FIRST_SOLUTION_GROWTH times what it ``spent``, and with that much more while it finds nothing."""
        floor = max(self._presolve_floor(), spent * FIRST_SOLUTION_GROWTH)
        for _ in range(FIRST_SOLUTION_ATTEMPTS):
            solver, status = self._solve_once(f"{stage}{'/lns' if lns else ''}+first", 1.0, floor, lns=lns)
            if status != cp_model.UNKNOWN:
                break
            floor = max(floor, solver.response_proto.deterministic_time) * FIRST_SOLUTION_GROWTH
        return solver, status

    def _presolve_floor(self) -> float:
        """Deterministic seconds a stage needs to get through presolve with room to improve on the hint."""
        return FIRST_SOLUTION_DET_PER_VARIABLE * len(self.b.model.proto.variables)

    def _solve_once(self, stage: str, share: float, floor: float = 0.0,
                    lns: bool = False) -> tuple[cp_model.CpSolver, int]:
        solver = self.budget.solver(share, floor, lns)
        status = solver.solve(self.b.model, _Trace(self.began, stage, self.trace))
        self.budget.spend(solver)
        self.statuses.append(f"{stage}:{solver.status_name(status)}")
        self.infeasible = status == cp_model.INFEASIBLE
        return solver, status

    def _keep(self, solver: cp_model.CpSolver) -> None:
        self.values = {var.index: int(solver.value(var)) for var in self.b.vars.all_vars()}
        self.b.vars.hint(self.values)

    def lexicographic(self, by_tier: dict[float, list[Term]]) -> None:
        """Minimise tier 1, hold it, minimise tier 2 … each stage starting from the last solution."""
        shares = LNS_FIRST_TIER_SHARE if self.lns_first else TIER_SHARE
        for tier, terms in by_tier.items():
            share = shares.get(tier, 0.1) / sum(shares.get(t, 0.1) for t in by_tier if t >= tier)
            expr = tier_expr(terms)
            self.b.model.minimize(expr)
            solver, status, bound = self._solve(f"T{tier:g}", share, bound=not self.bounds)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                if self.values is None:
                    return
                break
            self._keep(solver)
            self.bounds[tier] = bound
            self.b.model.add(expr <= round(solver.objective_value))
        self._evaluate_tiers(by_tier)  # every tier's value in the final solution

    def weighted(self, by_tier: dict[float, list[Term]]) -> None:
        """One solve of Σ weight_tier × tier, each weight above the whole range of the tiers below."""
        weight, weights = 1, {}
        for tier in sorted(by_tier, reverse=True):
            weights[tier] = weight
            weight *= 1 + sum(sum(abs(c) for c, _ in t.coefs) for t in by_tier[tier])
        if weight > MAX_COEF:
            return self.lexicographic(by_tier)
        self.b.model.minimize(sum((weights[t] * tier_expr(ts) for t, ts in by_tier.items()),
                                  cp_model.LinearExpr.constant(0)))
        solver, status, bound = self._solve("weighted", 1.0, bound=True)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self._keep(solver)
            self.bounds[0] = bound
            self._evaluate_tiers(by_tier)

    def stand(self, values: dict[int, int], by_tier: dict[float, list[Term]], why: str) -> None:
        """Take ``values`` (a warm start that satisfies every constraint of the model) as the solution: on a
        large model under load presolve can outlast the budget, and a checked plan better than current
        practice beats falling back to current practice. The plan says so in its note."""
        self.values, self.why_no_search = values, why
        self.statuses.append("warm start:FEASIBLE")  # nothing proves it optimal
        self._evaluate_tiers(by_tier)

    def _evaluate_tiers(self, by_tier: dict[float, list[Term]]) -> None:
        if self.values is not None:
            self.tier_values = {tier: sum(t.value(self._value) for t in terms) for tier, terms in by_tier.items()}

    def _value(self, var: cp_model.IntVar) -> int:
        return self.values.get(var.index, 0)

    def plan(self, by_tier: dict[float, list[Term]]) -> Plan:
        b = self.b
        chosen, opened = b.vars.extract(self._value)
        explainer = Explainer(b, chosen, opened)
        current = {d.referral_id: d.current_cohort_id for d in b.problem.demands}
        assignments = tuple(assignment(b.demands[rid], b.cohorts[cid], b.params,
                                       "keeps current cohort" if current[rid] == cid else
                                       "opens candidate" if cid in opened else "earliest fitting place")
                            for rid, cid in sorted(chosen.items()))
        unallocated = tuple(explainer.unallocated(d) for d in sorted(b.problem.demands, key=lambda d: d.referral_id)
                            if d.referral_id not in chosen)
        plan = Plan("cpsat", b.problem.region_code, b.as_of, assignments,
                    tuple(OpenedCohort(cid, fids) for cid, fids in sorted(opened.items())), unallocated,
                    status=self._status(), solve_seconds=time.perf_counter() - self.began,
                    best_bound=self.bounds.get(1, self.bounds.get(0)), trace=tuple(self.trace), note=self.note())
        objective = {**plan_metrics(b.problem, plan),
                     **{f"term:{t.name}": float(t.value(self._value)) for t in b.terms},
                     **{f"tier{k:g}": float(v) for k, v in self.tier_values.items()}}
        gap = _gap(self.tier_values.get(1), self.bounds.get(1))
        return replace(plan, objective=objective, gap=gap)

    def _status(self) -> str:
        return "OPTIMAL" if all(s.endswith("OPTIMAL") for s in self.statuses) else "FEASIBLE"

    def note(self) -> str:
        capped = "wall-time cap reached: this plan may not be reproducible" if self.budget.capped else ""
        return "; ".join(n for n in (self.why_no_search, capped) if n)


def _gap(value: float | None, bound: float | None) -> float | None:
    if value is None or bound is None:
        return None
    return 0.0 if value == bound else round(abs(value - bound) / max(abs(value), 1), 6)
