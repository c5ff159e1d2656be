"""Solver-independent validation of any plan (CP-SAT or baseline) against its problem.

Each check reads the rules from :mod:`solver.rules`, so a plan is judged by the same predicates the
baselines use. Capacity checks (hours, double booking, rooms) blame the plan only where a cohort it
opens takes part: clashes among already-OPEN cohorts are input data, not a plan fault.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

from solver.rules import (
    HOURS_TOLERANCE,
    Ledger,
    compatible,
    conflicts_with_members,
    demands_conflict,
    facilitator_eligible,
    room_counts,
)
from solver.overrides import in_words, runs, standing_of
from solver.schema import CohortOption, CohortState, Demand, Plan, Problem


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str


class _Context:
    """Lookups shared by every check, built once per plan."""

    def __init__(self, problem: Problem, plan: Plan) -> None:
        self.problem, self.plan = problem, plan
        self.demands = {d.referral_id: d for d in problem.demands}
        self.cohorts = {c.cohort_id: c for c in problem.cohorts}
        self.facilitators = {f.facilitator_id: f for f in problem.facilitators}
        self.opened = {o.cohort_id: o.facilitator_ids for o in plan.opened if o.cohort_id in self.cohorts}
        self.placed: dict[str, list[Demand]] = defaultdict(list)
        for a in plan.assignments:
            if a.referral_id in self.demands and a.cohort_id in self.cohorts:
                self.placed[a.cohort_id].append(self.demands[a.referral_id])

    def size(self, cohort: CohortOption) -> int:
        return len(cohort.members) + len(self.placed.get(cohort.cohort_id, ()))

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger.of(self.cohorts.values(), self.opened)  # repeated staff: facilitator-count's finding


Check = Callable[[_Context], Iterator[Violation]]


def check_plan(problem: Problem, plan: Plan) -> list[Violation]:
    """Every broken rule, each naming the referral, cohort or facilitator involved; [] for a valid plan."""
    ctx = _Context(problem, plan)
    return [violation for check in CHECKS for violation in check(ctx)]


def _references(ctx: _Context) -> Iterator[Violation]:
    for a in ctx.plan.assignments:
        if a.referral_id not in ctx.demands:
            yield Violation("unknown-referral", f"assignment of unknown referral {a.referral_id}")
        if a.cohort_id not in ctx.cohorts:
            yield Violation("unknown-cohort",
                            f"referral {a.referral_id} assigned to unknown cohort {a.cohort_id}")
    for cid, count in Counter(o.cohort_id for o in ctx.plan.opened).items():
        cohort = ctx.cohorts.get(cid)
        if cohort is None or cohort.state != CohortState.CANDIDATE or count > 1:
            yield Violation("opened-not-candidate",
                            f"cohort {cid} opened but is not a (single) known candidate")


def _one_cohort_per_referral(ctx: _Context) -> Iterator[Violation]:
    for rid, count in Counter(a.referral_id for a in ctx.plan.assignments).items():
        if count > 1:
            yield Violation("one-cohort-per-referral", f"referral {rid} assigned {count} times")


def _compatibility(ctx: _Context) -> Iterator[Violation]:
    for cid, people in ctx.placed.items():
        for demand in people:
            reason = compatible(demand, ctx.cohorts[cid], ctx.problem.params, ctx.problem.as_of)
            if reason is not None:
                yield Violation("compatibility",
                                f"referral {demand.referral_id} in cohort {cid}: {reason.value}")


def _sizes(ctx: _Context) -> Iterator[Violation]:
    for cid in ctx.placed:
        cohort = ctx.cohorts[cid]
        if ctx.size(cohort) > cohort.max_size:
            yield Violation("max-size", f"cohort {cid} has {ctx.size(cohort)} people, max {cohort.max_size}")


def _candidates_opened(ctx: _Context) -> Iterator[Violation]:
    for cid in ctx.placed:
        if ctx.cohorts[cid].state == CohortState.CANDIDATE and cid not in ctx.opened:
            yield Violation("candidate-not-opened", f"cohort {cid} has assignments but is not opened")


def _opened_cohorts(ctx: _Context) -> Iterator[Violation]:
    for cid, staff in ctx.opened.items():
        cohort = ctx.cohorts[cid]
        if ctx.size(cohort) < cohort.min_size:
            yield Violation("min-size",
                            f"opened cohort {cid} has {ctx.size(cohort)} people, min {cohort.min_size}")
        if len(set(staff)) != len(staff) or len(staff) != cohort.facilitators_required:
            yield Violation("facilitator-count", f"opened cohort {cid} has facilitators {list(staff)}, "
                                                 f"needs {cohort.facilitators_required} distinct")
        for fid in staff:
            f = ctx.facilitators.get(fid)
            if f is None or not facilitator_eligible(f, cohort):
                yield Violation("facilitator-eligibility", f"facilitator {fid} cannot run cohort {cid}")


def _facilitator_hours(ctx: _Context) -> Iterator[Violation]:
    ledger, seen = ctx.ledger, set()
    for (fid, week), hours in sorted(ledger.hours.items()):
        f, cids = ctx.facilitators.get(fid), tuple(ledger.runs[(fid, week)])
        if f is None or hours <= f.weekly_hours + HOURS_TOLERANCE or ctx.opened.keys().isdisjoint(cids):
            continue
        if (fid, cids) not in seen:
            seen.add((fid, cids))
            yield Violation("facilitator-hours", f"facilitator {fid} has {hours:g}h in week {week} "
                                                 f"(limit {f.weekly_hours:g}h) across {', '.join(cids)}")


def _double_booking(ctx: _Context) -> Iterator[Violation]:
    ledger, seen = ctx.ledger, set()
    for (fid, day, start, week), cids in sorted(ledger.booked.items()):
        if len(cids) > 1 and not ctx.opened.keys().isdisjoint(cids) and (fid, tuple(cids)) not in seen:
            seen.add((fid, tuple(cids)))
            yield Violation("double-booking", f"facilitator {fid} runs {', '.join(cids)} at the same time "
                                              f"(weekday {day} {start}, week {week})")


def _rooms(ctx: _Context) -> Iterator[Violation]:
    ledger, rooms, seen = ctx.ledger, room_counts(ctx.problem), set()
    for (office, day, start, week), cids in sorted(ledger.rooms.items()):
        limit = rooms.get(office, 1)
        if len(cids) > limit and not ctx.opened.keys().isdisjoint(cids) and (office, tuple(cids)) not in seen:
            seen.add((office, tuple(cids)))
            yield Violation("rooms", f"office {office} has {len(cids)} cohorts ({', '.join(cids)}) for "
                                     f"{limit} room(s) at weekday {day} {start}, week {week}")


def _non_associations(ctx: _Context) -> Iterator[Violation]:
    for cid, people in ctx.placed.items():
        for demand in people:
            if conflicts_with_members(demand, ctx.cohorts[cid]):
                yield Violation("non-association", f"referral {demand.referral_id} placed with a "
                                                   f"non-associated member of cohort {cid}")
        for a, b in combinations(people, 2):
            if demands_conflict(a, b):
                yield Violation("non-association",
                                f"referrals {a.referral_id} and {b.referral_id} are non-associated in cohort {cid}")


def _overrides(ctx: _Context) -> Iterator[Violation]:
    """Every override that stands is honoured: nobody on a cohort an override rules out, and every kept
    referral (and every holder of a locked cohort) on its cohort whenever that cohort runs."""
    standing = standing_of(ctx.problem)
    for cid, people in ctx.placed.items():
        for demand in people:
            against = standing.excluded_by(demand, ctx.cohorts[cid])
            if against is not None:
                yield Violation("override", f"referral {demand.referral_id} placed on {cid}, but "
                                            f"{in_words(against)}")
    chosen = {a.referral_id: a.cohort_id for a in ctx.plan.assignments}
    for rid, (cid, override) in sorted(standing.bound_to().items()):
        cohort = ctx.cohorts.get(cid)
        if cohort is not None and runs(cohort, ctx.opened) and chosen.get(rid) != cid:
            yield Violation("override", f"referral {rid} is not on {cid}, but {in_words(override)}")


def _accounting(ctx: _Context) -> Iterator[Violation]:
    assigned = {a.referral_id for a in ctx.plan.assignments}
    listed = Counter(u.referral_id for u in ctx.plan.unallocated)
    for rid in listed.keys() - ctx.demands.keys():
        yield Violation("unknown-referral", f"unknown referral {rid} listed as unallocated")
    for rid in ctx.demands:
        times = (rid in assigned) + listed[rid]
        if times != 1:
            yield Violation("accounting",
                            f"referral {rid} is assigned or unallocated {times} times, not once")


CHECKS: tuple[Check, ...] = (
    _references, _one_cohort_per_referral, _compatibility, _sizes, _candidates_opened, _opened_cohorts,
    _facilitator_hours, _double_booking, _rooms, _non_associations, _overrides, _accounting,
)
