"""The gate every plan passes before it is published: a plan that breaks a rule is not published.

Two independent judges: the solver's own validator (:func:`solver.check.check_plan`, on the plain
problem) and the engine's invariants (:func:`engine.invariants.check_places`, on the memberships the
plan would leave, judged by the people as they are now — both sides of every non-association, the
corrected sex, the amended deadline; :func:`engine.invariants.check_staff`, on the facilitators it would
leave on the cohorts it staffs, re-staffed or opened). Only what the plan decides can fail it: a place
it makes or keeps, a cohort it fills or staffs. A refused plan leaves the previous plan standing; the
refusal is kept in engine state (:data:`engine.state_keys.PLAN_REJECTED`) for the ``plan.rejected`` alert until a later plan passes.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from engine import state_keys as keys
from engine.domain.model import Referral
from engine.domain.rules import EngineRules
from engine.invariants import Places, Violation, check_places, check_staff
from engine.ports import UnitOfWork
from engine.services.problem import Snapshot, restaffing, staff_fixed
from solver import schema as s
from solver.check import check_plan

def plan_violations(uow: UnitOfWork, snapshot: Snapshot, plan: s.Plan, rules: EngineRules) -> list[Violation]:
    out = [Violation(v.rule, "plan", v.message) for v in check_plan(snapshot.problem, plan)]
    assigned = {a.referral_id: a.cohort_id for a in plan.assignments}
    demand_ids = {d.referral_id for d in snapshot.problem.demands}
    members: dict[str, list[Referral]] = {}
    for rid, referral in snapshot.referrals.items():
        cid = assigned.get(rid) if rid in demand_ids else referral.cohort_id
        if cid is not None:
            members.setdefault(cid, []).append(referral)
    fixed = [rid for rid in snapshot.referrals if rid not in demand_ids]
    allocations = {a.referral_id: a for a in uow.allocations.where(referral_id=fixed)} if fixed else {}
    report = check_places(Places(snapshot.cohorts, members, snapshot.people, snapshot.deadlines, allocations,
                                 frozenset(assigned)), rules)
    filled = set(assigned.values())
    out += [v for v in report.violations if v.subject in assigned or (v.rule == "max-size" and v.subject in filled)]
    return out + staff_violations(uow, snapshot, plan)


def staff_violations(uow: UnitOfWork, snapshot: Snapshot, plan: s.Plan) -> list[Violation]:
    """The staff the plan would leave on the groups whose staff are its choice — the running ones (as the
    snapshot re-staffed them) and those it opens — judged against every running group's staff: no clash of
    its own making, none it could have re-staffed away."""
    opened = {o.cohort_id: o.facilitator_ids for o in plan.opened}
    options = [replace(c, state=s.CohortState.OPEN, facilitator_ids=opened[c.cohort_id]) if c.cohort_id in opened
               else c for c in snapshot.problem.cohorts if c.state == s.CohortState.OPEN or c.cohort_id in opened]
    fixed = {c.cohort_id for c in options if c.cohort_id not in opened and staff_fixed(snapshot.cohorts[c.cohort_id])}
    staff = uow.facilitators.where(region_code=snapshot.problem.region_code)
    return check_staff(options, {c.cohort_id for c in options} - fixed,
                       {f.facilitator_id: f.weekly_hours for f in staff}, plan.as_of,
                       restaffing(options, fixed, staff, plan.as_of))


def record_rejection(uow: UnitOfWork, region: str, as_of: date, allocator: str, violations: list[Violation]) -> None:
    uow.set_state(keys.PLAN_REJECTED.key(region), json.dumps({
        "as_of": as_of.isoformat(), "allocator": allocator,
        "violations": [{"rule": v.rule, "subject": v.subject, "detail": v.detail} for v in violations[:50]],
        "count": len(violations)}))


def clear_rejection(uow: UnitOfWork, region: str) -> None:
    if uow.get_state(keys.PLAN_REJECTED.key(region)):
        uow.set_state(keys.PLAN_REJECTED.key(region), "")

