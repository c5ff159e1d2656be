"""FIFO and current-practice allocators: the greedy baselines the CP-SAT plan is measured against.

Both run one deterministic greedy engine and differ only in the order people are considered:

1. stability: a person keeps their current OPEN cohort while it is still compatible and has a place
   (a current cohort that is still a CANDIDATE gets no preference: it must open again on its merits);
2. the earliest-starting compatible open cohort with a free place (non-associations respected);
3. candidates, by start date, open when enough compatible people wait, enough facilitators can run them
   and a room is free; they are filled in the baseline's order up to max size. Steps 2-3 repeat until
   nothing changes.

A candidate that fails to open never opens later in the same run (waiting people only leave, facilitator
load and rooms only grow), so each candidate is judged once and its failure explains who stays unallocated.

Candidates offered beyond the grid's budget (``CohortOption.extra``: a rare variant's later starts) are left
out: they are the planner's second look, not what is done today. A baseline is then the same whichever grid the
service offers (on the default region, opening them by start date started fewer people in time: BENCHMARKS.md),
and CP-SAT, which plans without them first from this plan, is measured against today's practice, not a weaker one.
"""
from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from datetime import date

from solver.explain import PRECEDENCE, mismatch
from solver.overrides import placed_by, standing_of
from solver.rules import (
    Ledger,
    compatible,
    conflicts_with_any,
    conflicts_with_members,
    group_key,
    latest_end,
    risk_rank,
    room_counts,
)
from solver.schema import (
    Assignment,
    CohortOption,
    CohortState,
    Demand,
    OpenedCohort,
    Plan,
    Problem,
    Unallocated,
    UnallocatedReason,
)

OrderKey = Callable[[Demand], tuple]

def fifo_order(demand: Demand) -> tuple:
    """Referral date order: first come, first served."""
    return (demand.referred_on, demand.referral_id)


def current_practice_order(demand: Demand) -> tuple:
    """The national prioritisation framework: risk band first, then order end date."""
    return (risk_rank(demand.risk_band), demand.deadline, demand.referred_on, demand.referral_id)


class FifoAllocator:
    name = "fifo"

    def allocate(self, problem: Problem) -> Plan:
        return allocate_greedy(problem, self.name, fifo_order)


class CurrentPracticeAllocator:
    name = "current-practice"

    def allocate(self, problem: Problem) -> Plan:
        return allocate_greedy(problem, self.name, current_practice_order)


def allocate_greedy(problem: Problem, name: str, order_key: OrderKey) -> Plan:
    """Run the shared greedy engine with the given priority order, on the grid's own candidates (the module
    docstring)."""
    started = time.perf_counter()
    run = _GreedyRun(problem.core(), order_key)
    run.execute()
    return run.plan(name, time.perf_counter() - started)


def opening_quota(cohort: CohortOption, open_threshold: float) -> int:
    """People a candidate needs to open: the threshold share of min size, but never below min size
    (an opened cohort must reach it) and never an empty group."""
    return max(cohort.min_size, math.ceil(cohort.min_size * open_threshold), 1)


def weeks_between(first: date, last: date) -> float:
    return (last - first).days / 7


class _GreedyRun:
    """Mutable state of one allocation pass; discarded after :meth:`plan`."""

    def __init__(self, problem: Problem, order_key: OrderKey) -> None:
        self.problem, self.params, self.as_of = problem, problem.params, problem.as_of
        self.order = sorted(problem.demands, key=order_key)
        self.cohorts = sorted(problem.cohorts, key=lambda c: (c.start_date, c.cohort_id))
        self.facilitators = sorted(problem.facilitators, key=lambda f: f.facilitator_id)
        self.rooms = room_counts(problem)
        self.open_ids = {c.cohort_id for c in self.cohorts if c.state == CohortState.OPEN}
        self.fill: dict[str, list[Demand]] = defaultdict(list)
        self.chosen: dict[str, Assignment] = {}
        self.kept = 0
        self.opened: dict[str, tuple[str, ...]] = {}
        self.blocked: dict[str, tuple[UnallocatedReason, str]] = {}
        self.ledger = Ledger.of(self.cohorts)
        self.overrides = standing_of(problem)
        self.bound = self.overrides.bound_to()  # kept referrals and a locked cohort's holders go first
        self._index()

    def _index(self) -> None:
        """Each person scans, once, only the cohorts of their own programme group that start between
        their ready date and their latest end (groups are in start order; a cohort never ends before it
        starts, so a later start cannot finish in time)."""
        self.groups: dict[tuple, list[CohortOption]] = defaultdict(list)
        for cohort in self.cohorts:
            self.groups[group_key(cohort)].append(cohort)
        starts = {key: [c.start_date for c in group] for key, group in self.groups.items()}
        self.options: dict[str, list[CohortOption]] = {}
        self.waiting_for: dict[str, list[Demand]] = defaultdict(list)
        for demand in self.order:
            key = group_key(demand)
            window = starts.get(key, [])
            first = bisect_left(window, max(demand.ready_from, self.as_of))
            last = bisect_right(window, latest_end(demand, self.params))
            fits = [c for c in self.groups.get(key, ())[first:last]
                    if compatible(demand, c, self.params, self.as_of) is None and self.overrides.allows(demand, c)]
            self.options[demand.referral_id] = fits
            for cohort in fits:
                self.waiting_for[cohort.cohort_id].append(demand)

    # ---- the passes ----------------------------------------------------------------------------

    def execute(self) -> None:
        self._keep_current()
        self._absorb()
        while self._open_candidates() | self._absorb():
            pass

    def _keep_current(self) -> None:
        for demand in sorted(self.order, key=lambda d: d.referral_id not in self.bound):
            current = self.bound.get(demand.referral_id, (demand.current_cohort_id,))[0]
            cohort = next((c for c in self.options[demand.referral_id] if c.cohort_id == current), None)
            if cohort and current in self.open_ids and self._has_place(demand, cohort):
                self._place(demand, cohort, "keeps current cohort")
                self.kept += 1

    def _absorb(self) -> bool:
        placed = False
        for demand in self.order:
            if demand.referral_id in self.chosen:
                continue
            cohort = next((c for c in self.options[demand.referral_id]
                           if c.cohort_id in self.open_ids and self._has_place(demand, c)), None)
            if cohort:
                self._place(demand, cohort, "earliest cohort with a free place")
                placed = True
        return placed

    def _open_candidates(self) -> bool:
        opened = False
        for cohort in self.cohorts:
            cid = cohort.cohort_id
            if cid in self.waiting_for and cid not in self.open_ids and cid not in self.blocked:
                opened |= self._try_open(cohort)
        return opened

    def _try_open(self, cohort: CohortOption) -> bool:
        fill = self._fill_list(cohort)
        quota = opening_quota(cohort, self.params.open_threshold)
        if not fill or len(cohort.members) + len(fill) < quota:
            return self._block(cohort, UnallocatedReason.TOO_FEW_WAITING,
                               f"{len(cohort.members) + len(fill)} could join, {quota} needed")
        if not self.ledger.room_free(cohort, self.rooms.get(cohort.office_code, 1)):
            return self._block(cohort, UnallocatedReason.NO_PLACE, f"no room free at {cohort.office_code}")
        staff = self._pick_facilitators(cohort)
        if staff is None:
            return self._block(cohort, UnallocatedReason.NO_FACILITATOR,
                               f"fewer than {cohort.facilitators_required} eligible facilitators free")
        self.opened[cohort.cohort_id] = staff
        self.open_ids.add(cohort.cohort_id)
        self.ledger.add(cohort, staff)
        for demand in fill:
            self._place(demand, cohort, f"opens candidate with {len(fill)} waiting")
        return True

    def _block(self, cohort: CohortOption, reason: UnallocatedReason, detail: str) -> bool:
        self.blocked[cohort.cohort_id] = (reason, f"candidate {cohort.cohort_id} "
                                                  f"starting {cohort.start_date}: {detail}")
        return False

    def _fill_list(self, cohort: CohortOption) -> list[Demand]:
        """Waiting people in the baseline's order, skipping non-associations, up to the free places."""
        chosen: list[Demand] = []
        bound = self.bound
        for demand in sorted(self.waiting_for[cohort.cohort_id], key=lambda d: d.referral_id not in bound):
            if len(chosen) >= cohort.free_places:
                break
            if demand.referral_id in self.chosen or conflicts_with_members(demand, cohort):
                continue
            if not conflicts_with_any(demand, chosen):
                chosen.append(demand)
        return chosen

    def _pick_facilitators(self, cohort: CohortOption) -> tuple[str, ...] | None:
        """The first facilitators by id who fit; picks for one cohort never clash with each other."""
        fitting = [f.facilitator_id for f in self.facilitators if self.ledger.facilitator_fits(f, cohort)]
        need = cohort.facilitators_required
        return tuple(fitting[:need]) if len(fitting) >= need else None

    def _has_place(self, demand: Demand, cohort: CohortOption) -> bool:
        taken = self.fill[cohort.cohort_id]
        if len(cohort.members) + len(taken) >= cohort.max_size or conflicts_with_members(demand, cohort):
            return False
        return not conflicts_with_any(demand, taken)

    def _place(self, demand: Demand, cohort: CohortOption, how: str) -> None:
        self.fill[cohort.cohort_id].append(demand)
        how = placed_by(demand, cohort) or how
        why = (f"{how}: {cohort.cohort_id} finishing {cohort.end_date} before deadline "
               f"{demand.deadline} (risk {demand.risk_band})")
        self.chosen[demand.referral_id] = Assignment(demand.referral_id, cohort.cohort_id, why)

    # ---- explanation and result ----------------------------------------------------------------

    def _explain(self, demand: Demand) -> Unallocated:
        rid, options = demand.referral_id, self.options[demand.referral_id]
        if not options:
            return mismatch(demand, self.groups.get(group_key(demand), ()), self.params, self.as_of)
        blockers = [self.blocked[c.cohort_id] for c in options if c.cohort_id in self.blocked]
        if blockers:
            reason, detail = min(blockers, key=lambda b: PRECEDENCE.index(b[0]))
            return Unallocated(rid, reason, detail)
        ids = ", ".join(c.cohort_id for c in options)
        return Unallocated(rid, UnallocatedReason.NO_PLACE, f"full or non-associated: {ids}")

    def plan(self, name: str, seconds: float) -> Plan:
        assignments = tuple(sorted(self.chosen.values(), key=lambda a: a.referral_id))
        unallocated = tuple(self._explain(d) for d in sorted(self.order, key=lambda d: d.referral_id)
                            if d.referral_id not in self.chosen)
        opened = tuple(OpenedCohort(cid, staff) for cid, staff in sorted(self.opened.items()))
        return Plan(
            allocator=name, region_code=self.problem.region_code, as_of=self.as_of,
            assignments=assignments, opened=opened, unallocated=unallocated,
            objective=self._objective(assignments, unallocated), status="HEURISTIC",
            solve_seconds=seconds,
        )

    def _objective(self, assignments: tuple[Assignment, ...], unallocated: tuple) -> dict[str, float]:
        """deadline_misses counts every unallocated person: assigned people always finish in time (the
        deadline is a compatibility rule) and an unallocated one misses unless a later plan places them."""
        starts = {c.cohort_id: c.start_date for c in self.cohorts}
        referred = {d.referral_id: d.referred_on for d in self.order}
        waits = [weeks_between(referred[a.referral_id], starts[a.cohort_id]) for a in assignments]
        return {
            "assigned": float(len(assignments)),
            "unallocated": float(len(unallocated)),
            "cohorts_opened": float(len(self.opened)),
            "deadline_misses": float(len(unallocated)),
            "mean_wait_weeks": round(sum(waits) / len(waits), 3) if waits else 0.0,
            "kept_current": float(self.kept),
        }
