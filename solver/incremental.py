"""Incremental re-planning: the next problem as if a plan were published, and the cells an event frees.

After a plan is published, opened candidates run (OPEN, with their facilitators) and every placed
person holds their place; places in cohorts starting within the freeze window become fixed members.
A re-plan after a few events frees only the affected programme × office cells (``Params.focus``); the
rest of the plan is fixed by :mod:`solver.constraints.focus` and hinted from the published plan.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from solver.check import check_plan
from solver.schema import (Assignment, CohortState, Demand, Plan, Problem, Unallocated,
                           UnallocatedReason)


def published(problem: Problem, plan: Plan) -> Problem:
    """``problem`` with ``plan`` in force: opened cohorts running, people holding their places."""
    placed = {a.referral_id: a.cohort_id for a in plan.assignments}
    staff = {o.cohort_id: o.facilitator_ids for o in plan.opened}
    frozen_until = problem.as_of + timedelta(days=problem.params.freeze_days)
    cohorts = {c.cohort_id: c for c in problem.cohorts}
    frozen = {cid for cid, c in cohorts.items()
              if (c.state == CohortState.OPEN or cid in staff) and c.start_date <= frozen_until}
    members: dict[str, list[Demand]] = {}
    demands = []
    for d in problem.demands:
        cid = placed.get(d.referral_id)
        if cid in frozen:
            members.setdefault(cid, []).append(d)
        else:
            demands.append(replace(d, current_cohort_id=cid))
    out = []
    for cid, c in cohorts.items():
        c = c.joined(members.get(cid, []))
        if cid in staff:
            c = replace(c, state=CohortState.OPEN, facilitator_ids=staff[cid])
        out.append(c)
    return replace(problem, demands=tuple(demands), cohorts=tuple(out))


def cells_for(problem: Problem, programmes: Iterable[str]) -> frozenset[tuple[str, str]]:
    """Every programme × office cell of the given programmes: what a referral event can change."""
    wanted = set(programmes)
    return frozenset((c.programme_code, c.office_code) for c in problem.cohorts if c.programme_code in wanted)


def changed_programmes(before: Problem, after: Problem) -> set[str]:
    """Programmes whose waiting demand differs between two problems (arrivals, withdrawals, edits)."""
    old = {d.referral_id: d for d in before.demands}
    new = {d.referral_id: d for d in after.demands}
    touched = {d.programme_code for rid, d in new.items() if old.get(rid) != d}
    return touched | {d.programme_code for rid, d in old.items() if rid not in new}


def replan_params(problem: Problem, programmes: Iterable[str], time_limit_s: float):
    return replace(problem.params, focus=cells_for(problem, programmes), time_limit_s=time_limit_s)


def rebase(plan: Plan, before: Problem, after: Problem) -> Plan | None:
    """Carry a plan solved on ``before`` onto ``after``, the state when it is published.

    A service keeps applying events while the solver runs. Referrals whose demand is unchanged keep
    the plan's decision; new or changed ones keep the place they hold (or wait, ``PENDING``) until the
    next plan, which their event has already requested. ``None`` when the result would break a hard
    rule of ``after`` (say a cohort it fills was cancelled meanwhile): then nothing is published and
    the region is planned again.
    """
    if (before.demands, before.cohorts, before.facilitators) == (after.demands, after.cohorts,
                                                                  after.facilitators):
        return plan
    old = {d.referral_id: d for d in before.demands}
    new = {d.referral_id: d for d in after.demands}
    same = {rid for rid, d in new.items() if old.get(rid) == d}
    cohort_ids = {c.cohort_id for c in after.cohorts}
    if any(o.cohort_id not in cohort_ids for o in plan.opened):
        return None
    assignments = [a for a in plan.assignments if a.referral_id in same]
    unallocated = [u for u in plan.unallocated if u.referral_id in same]
    for rid in sorted(new.keys() - same):
        held = new[rid].current_cohort_id
        if held in cohort_ids:
            assignments.append(Assignment(rid, held, "keeps the published place: changed while the plan was "
                                                     "solved, the next plan reconsiders it"))
        else:
            unallocated.append(Unallocated(rid, UnallocatedReason.PENDING,
                                           "arrived or changed while the plan was solved; the next plan places it"))
    changed = len(new.keys() - same) + len(old.keys() - new.keys())
    rebased = replace(plan, assignments=tuple(assignments), unallocated=tuple(unallocated),
                      note="; ".join(filter(None, (plan.note, f"rebased over {changed} referral(s) that changed "
                                                                 "while solving"))))
    return None if check_plan(after, rebased) else rebased
