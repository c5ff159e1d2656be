"""Publishing a plan: the diff against the current places, as events in the outbox (engine.services.planning)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date

from engine import state_keys as keys
from engine.alerts.sweep import SweepResult
from engine.domain.model import Allocation, PlanRecord
from engine.domain.statuses import ReferralStatus as S
from engine.events import outbound as o
from engine.domain.rules import EngineRules
from engine.outbox import day_time, emit, stable_id
from engine.ports import UnitOfWork
from engine.services.problem import Snapshot
from solver import schema as s

log = logging.getLogger(__name__)


@dataclass
class PlanOutcome:
    plan_version: int
    region_code: str
    as_of: date
    plan: s.Plan
    made: int = 0
    changed: int = 0
    removed: int = 0
    opened: int = 0
    restaffed: int = 0  # cohorts the plan had staffed that it gave other facilitators (cohort.proposed again)
    at_risk: list[str] = field(default_factory=list)  # referral ids with an open deadline.at_risk alert
    missed: list[str] = field(default_factory=list)  # … and deadline.missed
    alerts: SweepResult = field(default_factory=SweepResult)  # the sweep run after publishing
    rejected: list = field(default_factory=list)  # invariant violations that stopped this plan (none: published)
    unsafe_removed: int = 0  # places removed before planning because they broke a rule


class Publisher:
    """A plan published as the diff against the current places: allocation and cohort events in the outbox,
    the new allocations and cohorts, and the plan record, in the caller's transaction."""

    def __init__(self, uow: UnitOfWork, snapshot: Snapshot, plan: s.Plan, version: int,
                 rules: EngineRules) -> None:
        self.uow, self.snap, self.plan, self.version = uow, snapshot, plan, version
        self.at = day_time(plan.as_of)
        self.outcome = PlanOutcome(version, plan.region_code, plan.as_of, plan)
        self.rules = rules
        self.why_unplaced = {u.referral_id: f"{u.reason}: {u.detail}" for u in plan.unallocated}

    def publish(self) -> PlanOutcome:
        self._restaff_cohorts()
        self._open_cohorts()
        assigned = {a.referral_id: a for a in self.plan.assignments}
        for demand in self.snap.problem.demands:
            self._settle(demand, assigned.get(demand.referral_id))
        self._record()
        return self.outcome

    def _emit(self, event_type: str, key: str, payload, subject: str) -> None:
        emit(self.uow, event_type, key, payload, self.at, stable_id("plan", self.version, event_type, subject))

    def _open_cohorts(self) -> None:
        filled: dict[str, int] = {}
        for a in self.plan.assignments:
            filled[a.cohort_id] = filled.get(a.cohort_id, 0) + 1
        for opened in self.plan.opened:
            cohort = self.snap.cohorts[opened.cohort_id]
            if cohort.live:
                continue
            if cohort.cohort_id in self.snap.grid:
                self.uow.cohorts.add(cohort)
            cohort.confirm(opened.facilitator_ids)
            cohort.origin = "PLAN"
            self.outcome.opened += 1
            self._emit("cohort.proposed", cohort.region_code, o.CohortProposed(
                plan_version=self.version, cohort_id=cohort.cohort_id, programme_code=cohort.programme_code,
                office_code=cohort.office_code, start_date=cohort.start_date, end_date=cohort.end_date,
                facilitator_ids=list(opened.facilitator_ids), places_filled=filled.get(cohort.cohort_id, 0),
                reason=f"{filled.get(cohort.cohort_id, 0)} eligible people waiting; trained facilitators "
                       f"{', '.join(opened.facilitator_ids)} have the hours"), cohort.cohort_id)

    def _restaff_cohorts(self) -> None:
        """Cohorts the plan staffed whose facilitators no longer fit get the staff the snapshot chose for them
        (:func:`engine.services.problem.restaff`), proposed again to the delivery team."""
        filled: dict[str, int] = {}
        for a in self.plan.assignments:
            filled[a.cohort_id] = filled.get(a.cohort_id, 0) + 1
        for cohort_id, staff in sorted(self.snap.restaffed.items()):
            cohort, option = self.snap.cohorts[cohort_id], self.snap.problem.cohort(cohort_id)
            dropped = [fid for fid in cohort.facilitator_ids if fid not in staff]
            added = [fid for fid in staff if fid not in cohort.facilitator_ids]
            cohort.facilitator_ids = staff
            self.outcome.restaffed += 1
            places = filled.get(cohort_id, 0) + len(option.members)
            self._emit("cohort.proposed", cohort.region_code, o.CohortProposed(
                plan_version=self.version, cohort_id=cohort_id, programme_code=cohort.programme_code,
                office_code=cohort.office_code, start_date=cohort.start_date, end_date=cohort.end_date,
                facilitator_ids=list(staff), places_filled=places, reason=_restaffed_reason(
                    dropped, added, len(staff), option.facilitators_required)), cohort_id)

    def _settle(self, demand: s.Demand, assignment: s.Assignment | None) -> None:
        referral = self.snap.referrals[demand.referral_id]
        current = referral.cohort_id
        if assignment is None:
            if current is not None:
                self._remove(referral, current)
            return
        if assignment.cohort_id == current:
            return
        cohort = self.snap.cohorts[assignment.cohort_id]
        self.uow.allocations.add(Allocation(referral.referral_id, cohort.cohort_id, self.version,
                                            self.plan.as_of, assignment.reason))
        common = dict(plan_version=self.version, referral_id=referral.referral_id, crn=referral.crn,
                      cohort_id=cohort.cohort_id, start_date=cohort.start_date, end_date=cohort.end_date,
                      deadline=demand.deadline, reason=assignment.reason)
        if current is None:
            referral.move_to(S.SCHEDULED, self.at, f"allocated to {cohort.cohort_id} in plan {self.version}",
                             by_allocation=True)
            self.outcome.made += 1
            self._emit("allocation.made", referral.crn, o.AllocationMade(
                programme_code=cohort.programme_code, **common), referral.referral_id)
        else:
            self.outcome.changed += 1
            self.uow.bump_state(keys.MOVES.key(referral.referral_id))
            self._emit("allocation.changed", referral.crn, o.AllocationChanged(
                previous_cohort_id=current, **common), referral.referral_id)
        referral.cohort_id = cohort.cohort_id

    def _remove(self, referral, current: str) -> None:
        reason = self.why_unplaced.get(referral.referral_id, "no longer placed by the plan")
        referral.move_to(S.AWAITING_ALLOCATION, self.at, f"plan {self.version}: {reason}")
        self.uow.allocations.remove(referral.referral_id)
        self.outcome.removed += 1
        self._emit("allocation.removed", referral.crn, o.AllocationRemoved(
            plan_version=self.version, referral_id=referral.referral_id, crn=referral.crn,
            previous_cohort_id=current, reason=reason), referral.referral_id)

    def _record(self) -> None:
        p = self.plan
        self.uow.save_plan(PlanRecord(self.version, p.region_code, p.allocator, p.as_of, len(p.assignments),
                                      len(p.unallocated), self.outcome.opened, dict(p.objective), p.status))
        fell_back = self.uow.get_state(keys.PLAN_FALLBACK.key(p.region_code))
        if p.status == "FALLBACK":  # for the plan.fell_back alert: the plan is current practice's, and why
            since = json.loads(fell_back)["since"] if fell_back else p.as_of.isoformat()
            self.uow.set_state(keys.PLAN_FALLBACK.key(p.region_code), json.dumps(dict(
                plan_version=self.version, as_of=p.as_of.isoformat(), since=since, allocator=p.allocator,
                note=p.note, seconds=round(p.solve_seconds, 2))))
        elif fell_back:
            self.uow.set_state(keys.PLAN_FALLBACK.key(p.region_code), "")
        self._emit("plan.published", p.region_code, o.PlanPublished(
            plan_version=self.version, region_code=p.region_code, allocator=p.allocator, as_of=p.as_of,
            assigned=len(p.assignments), unallocated=len(p.unallocated), cohorts_opened=self.outcome.opened,
            made=self.outcome.made, changed=self.outcome.changed, removed=self.outcome.removed,
            status=p.status, objective={k: float(v) for k, v in p.objective.items()},
            gap=p.gap, best_bound=p.best_bound, note=p.note), p.region_code)  # no timings: replays must match


def _restaffed_reason(dropped: list[str], added: list[str], staffed: int, required: int) -> str:
    """Why a cohort the plan staffed has new facilitators: who no longer fits, who took over, and any gap."""
    gone = (f"re-staffed: {', '.join(dropped)} no longer {'has' if len(dropped) == 1 else 'have'} the hours or "
            f"the slot free for it")
    took = f"; {', '.join(added)} {'has' if len(added) == 1 else 'have'} them" if added else ""
    short = f"; {staffed} of {required} facilitators: no other trained facilitator is free" \
        if staffed < required else ""
    return gone + took + short
