"""National scale: regions solve independently in parallel processes, then a small boundary pass.

Regions share no facilitators or rooms, so their plans are independent problems. The only coupling is
people who can reach an office of another region (``Demand.reachable_offices`` naming it): those left
without a place at home get a second chance on free places in the other regions' running and opened
cohorts, in one small CP-SAT solve over fixed cohorts (no new groups, so no facilitators involved).
"""
from __future__ import annotations

from dataclasses import replace

from solver.model import solve
from solver.schema import CohortState, Plan, Problem
from solver.workers import pool

BOUNDARY = "BOUNDARY"


def solve_national(problems: list[Problem], workers: int = 2) -> list[Plan]:
    """One plan per region, in order; a last plan for region ``BOUNDARY`` when anyone crossed over."""
    plans = list(pool(workers).map(solve, problems)) if workers > 1 else [solve(p) for p in problems]
    boundary = boundary_problem(problems, plans)
    if boundary is not None:
        plans.append(solve(boundary))
    return plans


def boundary_problem(problems: list[Problem], plans: list[Plan]) -> Problem | None:
    """Unplaced people who can reach another region's office, against that region's free places."""
    office_region = {o.office_code: p.region_code for p in problems for o in p.offices}
    placed = [{a.referral_id for a in plan.assignments} for plan in plans]
    movers = [replace(d, current_cohort_id=None)
              for p, done in zip(problems, placed) for d in p.demands
              if d.referral_id not in done and any(office_region.get(o, p.region_code) != p.region_code
                                                   for o in d.reachable_offices)]
    if not movers:
        return None
    cohorts = [c for p, plan in zip(problems, plans) for c in _running_after(p, plan)]
    first = problems[0]
    return Problem(BOUNDARY, first.as_of, tuple(movers), tuple(cohorts), (),
                   tuple(o for p in problems for o in p.offices), first.params)


def _running_after(problem: Problem, plan: Plan):
    """The region's cohorts that run under its plan, with everyone it placed as a fixed member."""
    members: dict[str, list] = {}
    demands = {d.referral_id: d for d in problem.demands}
    for a in plan.assignments:
        members.setdefault(a.cohort_id, []).append(demands[a.referral_id])
    opened = {o.cohort_id: o.facilitator_ids for o in plan.opened}
    for c in problem.cohorts:
        if c.state != CohortState.OPEN and c.cohort_id not in opened:
            continue
        yield replace(c.joined(members.get(c.cohort_id, [])), state=CohortState.OPEN,
                      facilitator_ids=opened.get(c.cohort_id, c.facilitator_ids))
