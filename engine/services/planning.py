"""Plan a region now: advance cohorts, build the problem, call the allocator, publish the diff.

The diff against the current allocations becomes allocation.made / changed / removed and
cohort.proposed events in the outbox, each with its reason and the plan version, all in the same
transaction as the new allocations.

A service that keeps applying events while the solver runs plans in three steps instead of one
transaction: :meth:`Planner.prepare` reads a snapshot, the caller solves it (off its event loop, in a
worker process), and :meth:`Planner.publish` takes the writer lock, re-reads the region, carries the
plan onto that state (:func:`solver.incremental.rebase`) and publishes the diff. A publish whose basis
(the region's plan version when the snapshot was read) moved is dropped: two workers can never
publish conflicting plans for one region, whoever owns it.

Ownership is fenced too. A worker plans the regions of the re-plan partitions it was assigned
(streams/replan.py); when it takes a partition it takes a :class:`~engine.services.fencing.Fence` from the database, a generation
that grows each time another holder takes it (:func:`take_fence`). Its snapshot carries the fence it
held, its publish is refused with :class:`Stale` when the database's generation has moved on (a new owner
took the partition while this one was paused, partitioned away or slow) or when this worker no longer
holds it, and a published plan records the fence it was published under (``plan_owner:<version>``,
:func:`plan_owners`). So between a worker's snapshot and its publish, no other worker publishes that
region's plan: a stale owner's write is refused, whatever the broker's rebalance said when.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Callable, Iterable

from engine import state_keys as keys
from engine.alerts.sweep import AlertSweep
from engine.domain.model import CohortStatus
from engine.domain.statuses import ReferralStatus as S
from engine.events import outbound as o
from engine.domain.rules import EngineRules
from engine.outbox import day_time, emit, stable_id
from engine.ports import UnitOfWork
from engine.services.candidates import Grid
from engine.services.ingest import dirty_regions, event_clock
from engine.services import safety
from engine.services.gate import clear_rejection, plan_violations, record_rejection
from engine.services.problem import Snapshot, build_problem, pinned_cohort
from engine.services.publisher import PlanOutcome, Publisher
from engine.services.fencing import Fence, Stale, current_fence, take_fence
from engine.services.scope import Scope, scope_of
from engine.services.overrides import record_set_aside
from solver import schema as s
from solver.incremental import rebase, replan_params
from solver.overrides import standing_of

log = logging.getLogger(__name__)
@dataclass(frozen=True)
class Prepared:
    """A region's snapshot, to be solved away from the database and then published."""

    region_code: str
    as_of: date
    problem: s.Problem
    basis: int | None   # the region's last published plan version when the snapshot was read
    dirty: str | None   # the region's dirty generation then: cleared on publish only if unchanged
    fence: Fence | None = None  # the fence the planning worker held for the region then (None: embedded)


class Planner:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], allocator: s.Allocator,
                 rules: EngineRules | None = None, params: s.Params | None = None, grid: Grid | None = None,
                 replan_time_limit_s: float = 1.5, alerts: AlertSweep | None = None) -> None:
        self._uow_factory, self.allocator = uow_factory, allocator
        self.rules, self.params, self.grid = rules or EngineRules(), params or s.Params(), grid
        self.replan_time_limit_s = replan_time_limit_s
        self.alerts = alerts or AlertSweep(self.rules)
        self._published: dict[str, tuple[date, s.Problem]] = {}  # per region, right after this planner's last publish
        # A service worker's: the fence it holds for a region (None: not its region). Unset (embedded, the API,
        # the CLI): plans are not fenced.
        self.fence_of: Callable[[str], Fence | None] | None = None

    def plan(self, region: str, as_of: date, programmes: Iterable[str] | None = None) -> PlanOutcome:
        """Plan the region; with ``programmes``, an incremental re-plan that frees only their
        programme × office cells, within the re-plan time limit (the rest of the plan stays as published)."""
        with self._uow_factory() as uow:
            uow.lock_writes()
            snapshot = self._snapshot(uow, region, as_of, programmes)
            dirty = uow.get_state(keys.DIRTY.key(region))
            plan = self.allocator.allocate(snapshot.problem)
            outcome = self._commit(uow, snapshot, plan, dirty)
        return outcome

    def prepare(self, region: str, as_of: date, programmes: Iterable[str] | None = None) -> Prepared:
        """Read the region's snapshot (nothing is written): step 1 of a service re-plan."""
        fence = self.fence_of(region) if self.fence_of is not None else None
        if self.fence_of is not None and fence is None:
            raise Stale(f"this worker holds no fence for region {region}: it does not plan it")
        return self._read(region, as_of, programmes, fence)

    def _read(self, region: str, as_of: date, programmes: Iterable[str] | None, fence: Fence | None) -> Prepared:
        with self._uow_factory() as uow:
            snapshot = self._snapshot(uow, region, as_of, programmes)
            return Prepared(region, as_of, snapshot.problem, _basis(uow, region), uow.get_state(keys.DIRTY.key(region)),
                            fence)

    def prepare_next(self, region: str, as_of: date) -> tuple[Prepared, Scope]:
        """Step 1 of a service re-plan, scoped (:mod:`engine.services.scope`): the whole region, or only the
        programmes whose waiting people changed since this planner's last publish."""
        prepared = self.prepare(region, as_of)
        scope = scope_of(self._published.get(region), prepared.problem)
        if not scope.full:
            problem = prepared.problem
            prepared = replace(prepared, problem=replace(problem, params=replan_params(
                problem, scope.programmes, self.replan_time_limit_s)))
        return prepared, scope

    def publish(self, prepared: Prepared, plan: s.Plan) -> PlanOutcome | None:
        """Publish a plan solved on ``prepared`` against the state now: step 3 of a service re-plan.

        Raises :class:`Stale` if the snapshot's fence is no longer this planner's or the database's (a stale
        owner), or if another plan for the region was published since the snapshot; returns None if the plan
        could not be carried onto the current state (the region stays dirty).
        """
        region = prepared.region_code
        with self._uow_factory() as uow:
            uow.lock_writes()
            self._check_fence(uow, prepared)
            if _basis(uow, region) != prepared.basis:
                raise Stale(f"region {region} was planned (version {_basis(uow, region)}) since this plan's "
                            f"snapshot (version {prepared.basis})")
            snapshot = self._snapshot(uow, region, prepared.as_of, None)
            snapshot = replace(snapshot, problem=replace(snapshot.problem, params=prepared.problem.params))
            carried = rebase(plan, prepared.problem, snapshot.problem)
            if carried is None:
                return None
            outcome = self._commit(uow, snapshot, carried, prepared.dirty, prepared.fence)
        self._published.pop(region, None)
        if not outcome.rejected:  # the state a scoped re-plan compares with (prepare_next)
            self._published[region] = (prepared.as_of, self._read(region, prepared.as_of, None, None).problem)
        return outcome

    def _check_fence(self, uow: UnitOfWork, prepared: Prepared) -> None:
        """Refuse a fenced plan whose fence moved on: taken by another holder in the database since the
        snapshot, or given up here (a rebalance revoked the partition)."""
        fence, region = prepared.fence, prepared.region_code
        if fence is None and self.fence_of is None:
            return
        held = self.fence_of(region) if self.fence_of is not None else fence
        stored = current_fence(uow, fence.name) if fence is not None else None
        if fence is not None and held == fence and stored == fence:
            return
        why = (f"region {region}: the plan's owner {fence.holder if fence else '-'} (fence "
               f"{fence.name if fence else '-'} generation {fence.generation if fence else '-'}) is stale; the "
               f"database's fence is generation {stored.generation if stored else '-'} held by "
               f"{stored.holder if stored else '-'}, this worker holds "
               f"{f'generation {held.generation}' if held else 'nothing'}")
        log.warning("plan for %s refused: %s", region, why)
        raise Stale(why)

    def take_fence(self, name: str, holder: str, held: int | None = None) -> Fence:
        """Take the fence ``name`` for ``holder`` (see :func:`take_fence`)."""
        with self._uow_factory() as uow:
            return take_fence(uow, name, holder, held)

    def _snapshot(self, uow: UnitOfWork, region: str, as_of: date, programmes: Iterable[str] | None) -> Snapshot:
        _advance(uow, region, as_of, self.params.freeze_days)
        self._removed = _enforce(uow, region, as_of, self.rules)
        snapshot = build_problem(uow, region, as_of, self.rules, self.params, self.grid)
        if programmes is None:
            return snapshot
        return replace(snapshot, problem=replace(snapshot.problem, params=replan_params(
            snapshot.problem, programmes, self.replan_time_limit_s)))

    def _commit(self, uow: UnitOfWork, snapshot: Snapshot, plan: s.Plan, dirty: str | None,
                fence: Fence | None = None) -> PlanOutcome:
        region = snapshot.problem.region_code
        plan = _with_set_aside(uow, snapshot.problem, plan)
        violations = plan_violations(uow, snapshot, plan, self.rules)
        publisher = Publisher(uow, snapshot, plan, uow.next_plan_version(), self.rules)
        if violations:  # the previous plan stands; the plan.rejected alert names the rules and ids
            log.error("plan for %s as of %s not published: %d invariant violations, first: %s", region,
                      plan.as_of, len(violations), violations[0])
            record_rejection(uow, region, plan.as_of, plan.allocator, violations)
            outcome = PlanOutcome(publisher.version, region, plan.as_of, plan, rejected=violations)
        else:
            outcome = publisher.publish()
            if fence is not None:  # the plan carries the fence it was published under
                uow.set_state(keys.PLAN_OWNER.key(publisher.version), json.dumps(dict(
                    region=region, fence=fence.name, generation=fence.generation, holder=fence.holder)))
            clear_rejection(uow, region)
            safety.forget_removals(uow, [d.referral_id for d in snapshot.problem.demands])
        outcome.unsafe_removed = getattr(self, "_removed", 0)
        outcome.alerts = self.alerts.run(uow, region, plan.as_of, publisher.at)
        outcome.at_risk, outcome.missed = outcome.alerts.at_risk, outcome.alerts.missed
        uow.set_state(keys.LAST_PLANNED.key(region), plan.as_of.isoformat())
        uow.set_state(keys.PLAN_VERSION.key(region), str(outcome.plan_version))
        if dirty is not None and uow.get_state(keys.DIRTY.key(region)) == dirty:
            uow.set_state(keys.DIRTY.key(region), "0")
        uow.commit()
        return outcome

    def dirty_regions(self) -> list[str]:
        with self._uow_factory() as uow:
            return dirty_regions(uow)

    def known_regions(self) -> list[str]:
        """Regions that were ever changed or planned."""
        with self._uow_factory() as uow:
            names = {*uow.states(keys.DIRTY.prefix), *uow.states(keys.LAST_PLANNED.prefix)}
        return sorted({name.split(":", 1)[1] for name in names})

    def clock(self) -> datetime | None:
        """The latest event time applied (a service on event time plans as of its date)."""
        with self._uow_factory() as uow:
            return event_clock(uow)

    def dry_run(self, region: str, as_of: date) -> tuple[Snapshot, s.Plan]:
        """Build and solve without publishing or storing anything: for explanations and what-ifs."""
        with self._uow_factory() as uow:
            snapshot = build_problem(uow, region, as_of, self.rules, self.params, self.grid)
        return snapshot, self.allocator.allocate(snapshot.problem)

    def last_planned(self, region: str) -> date | None:
        """The engine's planning clock for a region: it never plans an earlier date by replay."""
        with self._uow_factory() as uow:
            value = uow.get_state(keys.LAST_PLANNED.key(region))
        return date.fromisoformat(value) if value else None


def planned_regions(uow: UnitOfWork) -> dict[str, date]:
    """The date each region was last planned as of."""
    return {keys.LAST_PLANNED.parts(name)[0]: date.fromisoformat(value)
            for name, value in uow.states(keys.LAST_PLANNED.prefix).items()}


def _with_set_aside(uow: UnitOfWork, problem: s.Problem, plan: s.Plan) -> s.Plan:
    """Planner overrides the plan could not honour safely are never dropped silently: the plan's note names
    them and why, and they are kept for the override list and the explanations."""
    aside = standing_of(problem).set_aside
    record_set_aside(uow, problem.region_code, aside)
    return replace(plan, note="; ".join(filter(None, (plan.note, *(a.note() for a in aside))))) if aside else plan


def _basis(uow: UnitOfWork, region: str) -> int | None:
    value = uow.get_state(keys.PLAN_VERSION.key(region))
    return int(value) if value else None


def _enforce(uow: UnitOfWork, region: str, as_of: date, rules: EngineRules) -> int:
    """Before planning: every held place in the region re-checked; the plan's own places that break a
    rule are removed (allocation.removed names the rule), the rest flagged for the alert."""
    at = day_time(as_of)

    def remove(referral, reason: str) -> None:
        previous = referral.cohort_id
        allocation = uow.allocations.get(referral.referral_id)
        referral.move_to(S.AWAITING_ALLOCATION, at, reason)
        uow.allocations.remove(referral.referral_id)
        emit(uow, "allocation.removed", referral.crn, o.AllocationRemoved(
            plan_version=allocation.plan_version if allocation else 0, referral_id=referral.referral_id,
            crn=referral.crn, previous_cohort_id=previous, reason=reason), at,
            stable_id("unsafe", region, as_of, referral.referral_id))

    findings = safety.enforce(uow, rules, safety.region_cohorts(uow, region), as_of, remove, leave_movable=True)
    return len({f.breach.referral_id for f in findings if f.remedy == safety.Remedy.REMOVE})


def _advance(uow: UnitOfWork, region: str, as_of: date, freeze_days: int) -> None:
    """Cohorts move along their calendars; places in started or frozen cohorts are pinned."""
    live = uow.cohorts.where(region_code=region, status=[CohortStatus.CONFIRMED, CohortStatus.STARTED])
    frozen = [c.cohort_id for c in live if pinned_cohort(c, as_of, freeze_days)]
    for cohort in live:
        cohort.advance(as_of)
    for allocation in uow.allocations.where(cohort_id=frozen) if frozen else []:
        allocation.pinned = True
