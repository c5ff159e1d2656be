"""Factories for solver tests: sensible defaults that fit together, overridden per test.

By default a demand is compatible with a cohort and both default facilitators can run it.
"""
from __future__ import annotations

from datetime import date

from solver.schema import CohortOption, CohortState, Demand, Facilitator, Office, Params, Problem, Slot

AS_OF = date(2025, 1, 6)  # a Monday


def make_demand(**overrides) -> Demand:
    defaults = dict(
        referral_id="R1",
        crn="X001",
        programme_code="BC",
        pathway="MODERATE",
        offence_cohort="GENERAL_OFFENCE",
        ldc=False,
        sex="MALE",
        risk_band="MEDIUM",
        referred_on=date(2024, 10, 1),
        ready_from=date(2024, 10, 1),
        deadline=date(2026, 1, 1),
    )
    return Demand(**{**defaults, **overrides})


def make_cohort(**overrides) -> CohortOption:
    defaults = dict(
        cohort_id="C1",
        programme_code="BC",
        pathway="MODERATE",
        offence_cohort="GENERAL_OFFENCE",
        ldc=False,
        sex="MIXED",
        office_code="OFF1",
        pdu_code="PDU1",
        slots=(Slot(1, "10:00"),),
        start_date=date(2025, 2, 4),
        end_date=date(2025, 5, 6),
        min_size=1,
        max_size=8,
        state=CohortState.OPEN,
    )
    return CohortOption(**{**defaults, **overrides})


def make_facilitator(**overrides) -> Facilitator:
    defaults = dict(
        facilitator_id="F1",
        programmes=frozenset({"BC"}),
        offices=frozenset({"OFF1"}),
        weekly_hours=14.0,
    )
    return Facilitator(**{**defaults, **overrides})


def make_problem(demands=(), cohorts=(), facilitators=(), offices=(), **params) -> Problem:
    return Problem(
        region_code="REG",
        as_of=AS_OF,
        demands=tuple(demands),
        cohorts=tuple(cohorts),
        facilitators=tuple(facilitators),
        offices=tuple(offices),
        params=Params(**params),
    )


def make_office(**overrides) -> Office:
    return Office(**{**dict(office_code="OFF1", pdu_code="PDU1", rooms=1), **overrides})


def two_facilitators(**overrides) -> list[Facilitator]:
    """The pair a default candidate needs."""
    return [make_facilitator(facilitator_id=fid, **overrides) for fid in ("F1", "F2")]


def people(count: int, **overrides) -> list[Demand]:
    """Distinct compatible referrals R01..Rnn referred on consecutive days."""
    return [
        make_demand(referral_id=f"R{i:02d}", crn=f"X{i:03d}",
                    referred_on=date(2024, 10, 1 + i), **overrides)
        for i in range(1, count + 1)
    ]


# ---- tiny CP-SAT models: one rule at a time ------------------------------------------------------
# Appended below the plain factories (which stay as they were); these build and solve real models.
from dataclasses import dataclass as _dataclass  # noqa: E402

from ortools.sat.python import cp_model  # noqa: E402

from solver.build import Build, Term  # noqa: E402
from solver.constraints import CONSTRAINTS, PAIR_RULES, STAFF_RULES  # noqa: E402
from solver.model import Rules, build  # noqa: E402
from solver.objectives import OBJECTIVES  # noqa: E402

URGENT_DEADLINE = date(2025, 5, 20)  # latest end = the default cohort's end: unplaced, it counts as a miss


def make_candidate(**overrides) -> CohortOption:
    """A candidate cohort K1 (same defaults as :func:`make_cohort`), needing two facilitators."""
    return make_cohort(**{**dict(cohort_id="K1", state=CohortState.CANDIDATE), **overrides})


def tiny_problem(demands=(), cohorts=(), facilitators=(), offices=(), **params) -> Problem:
    """A problem whose solves are quick and repeatable: 5 s limit, one worker."""
    return make_problem(demands, cohorts, facilitators, offices, **{**dict(time_limit_s=5, workers=1), **params})


def most_places(b) -> Term:
    """Soft (test only): one point for every place taken, so a model with no other goal fills cohorts."""
    term = Term("most_places", 1)
    for var in b.vars.x.values():
        term.add(-1, var)
    return term


def only(pair=(), staff=(), constraints=(), objectives=(), **custom) -> Rules:
    """Rules with just the named registry entries; ``custom`` adds test objectives by name (default:
    :func:`most_places` when no objective is named)."""
    goals = {name: OBJECTIVES[name] for name in objectives} | custom
    return Rules(pair={name: PAIR_RULES[name] for name in pair},
                 staff={name: STAFF_RULES[name] for name in staff},
                 constraints={name: CONSTRAINTS[name] for name in constraints},
                 objectives=goals or {"most_places": most_places})


@_dataclass
class Outcome:
    """One solve of a tiny model: every place and staffing set to 1 (several places per person when no
    rule stops it) and the model behind them."""

    build: Build
    status: str
    values: dict[int, int]

    @property
    def feasible(self) -> bool:
        return self.status in ("OPTIMAL", "FEASIBLE")

    @property
    def placed(self) -> set[tuple[str, str]]:
        return {key for key, var in self.build.vars.x.items() if self.values.get(var.index)}

    @property
    def opened(self) -> dict[str, tuple[str, ...]]:
        return self.build.vars.extract(lambda var: self.values.get(var.index, 0))[1]

    def members(self, cohort_id: str) -> set[str]:
        return {rid for rid, cid in self.placed if cid == cohort_id}

    def value(self, term: Term) -> int:
        return term.value(lambda var: self.values.get(var.index, 0))


def solve_model(problem: Problem, rules: Rules, fixed=None) -> Outcome:
    """Build ``problem`` with ``rules``, minimise the sum of its terms and read back every variable.

    ``fixed`` pins variables of the build: a callable ``build -> [(var, value), ...]``."""
    b = build(problem, rules)
    for var, value in (fixed(b) if fixed else ()):
        b.vars.fix(var, value)
    b.model.minimize(sum((term.expr() for term in b.terms), cp_model.LinearExpr.constant(0)))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = problem.params.time_limit_s
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = problem.params.seed
    status = solver.status_name(solver.solve(b.model))
    values = ({var.index: int(solver.value(var)) for var in b.vars.all_vars()}
              if status in ("OPTIMAL", "FEASIBLE") else {})
    outcome = Outcome(b, status, values)
    for observe in SOLVE_OBSERVERS:
        observe(problem, rules, fixed is not None, outcome)
    return outcome


# The meta-test that every hard rule is exercised listens here: (problem, rules, pinned?, outcome) per solve.
SOLVE_OBSERVERS: list = []


def term_value(problem: Problem, objective: str, places=(), opened=(), staffed=(), pair=()) -> int:
    """The named objective's value with every variable fixed: the ``places`` (referral, cohort) pairs, the
    ``opened`` candidate ids and the ``staffed`` (facilitator, cohort) pairs are 1, everything else 0.
    Built with only the ``pair`` rules named, so every place variable exists unless a rule removes it."""
    places, opened, staffed = set(places), set(opened), set(staffed)

    def fix(b):
        missing = (places - b.vars.x.keys()) | (opened - b.vars.open.keys()) | (staffed - b.vars.staff.keys())
        assert not missing, f"no variable for {sorted(missing)}"
        return ([(var, int(key in places)) for key, var in b.vars.x.items()]
                + [(var, int(key in opened)) for key, var in b.vars.open.items()]
                + [(var, int(key in staffed)) for key, var in b.vars.staff.items()])

    outcome = solve_model(problem, only(pair=pair, objectives=[objective]), fixed=fix)
    assert outcome.feasible
    (term,) = outcome.build.terms
    return outcome.value(term)
