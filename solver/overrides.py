"""Which planner overrides a plan must honour, and which are set aside because honouring them is unsafe.

A planner can keep a referral on a cohort, rule a cohort out for a referral (never), hold a referral out
of planning until a date, or lock a cohort's membership (nobody joins or leaves). They reach the solver on
the demands (keep, never, hold) and cohorts (lock) they name. A safety rule beats a decision people made:
an override that would break a hard rule now (a non-association that arrived later, a re-assessment, a
full or cancelled cohort) is never honoured and never silently dropped — :func:`standing_of` sets it aside
with the reason, which the engine puts in the plan's note and the explanations.

Where two overrides disagree, the more specific or safer one stands: a hold or a never beats a keep or a
lock for that person; a lock beats a keep that would take a member away or bring a newcomer in; of two
keeps, the earlier made (lower id) stands. The CP-SAT rule (solver/constraints/overrides.py), the
baselines, the checker and the explanations all read overrides through this module.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from solver.rules import compatible, conflicts_with_members, demands_conflict, latest_end
from solver.schema import (
    CohortOption,
    CohortState,
    Demand,
    Override,
    OverrideKind,
    Params,
    Problem,
    UnallocatedReason,
)

K = OverrideKind


@dataclass(frozen=True)
class SetAside:
    """An override (for one referral) the plan does not honour, and why."""

    override: Override
    referral_id: str | None
    why: str

    def note(self) -> str:
        o = self.override
        subject = " ".join(filter(None, (o.referral_id or self.referral_id, "on" if o.cohort_id else "",
                                         o.cohort_id)))
        return f"override {o.override_id} ({o.kind.value} {subject}) set aside: {self.why}"


@dataclass(frozen=True)
class Standing:
    """The overrides in force for one problem: what each rules in or out, and those set aside."""

    held: Mapping[str, Override] = field(default_factory=dict)              # referral → hold
    never: Mapping[tuple[str, str], Override] = field(default_factory=dict)  # (referral, cohort) → never
    keeps: Mapping[str, Override] = field(default_factory=dict)             # referral → keep honoured
    locks: Mapping[str, Override] = field(default_factory=dict)             # cohort → lock
    stays: Mapping[str, Override] = field(default_factory=dict)             # holder of a locked cohort → lock
    set_aside: tuple[SetAside, ...] = ()

    def excluded_by(self, demand: Demand, cohort: CohortOption) -> Override | None:
        """The override that rules this place out, or None when the overrides allow it."""
        rid, cid = demand.referral_id, cohort.cohort_id
        held = self.held.get(rid)
        if held is not None:
            return held
        if (rid, cid) in self.never:
            return self.never[(rid, cid)]
        bound = self.keeps.get(rid) or self.stays.get(rid)
        if bound is not None and bound.cohort_id != cid:
            return bound
        lock = self.locks.get(cid)
        if lock is not None and demand.current_cohort_id != cid:
            return lock
        return None

    def allows(self, demand: Demand, cohort: CohortOption) -> bool:
        return self.excluded_by(demand, cohort) is None

    def bound_to(self) -> dict[str, tuple[str, Override]]:
        """Referral → (the cohort it must be on whenever that cohort runs, the override saying so)."""
        return {rid: (o.cohort_id, o) for rid, o in (*self.stays.items(), *self.keeps.items())}

    def notes(self) -> list[str]:
        return [s.note() for s in self.set_aside]


def held(override: Override, as_of: date) -> bool:
    """A hold is in force before its date; from that day on the referral is planned again."""
    return override.kind == K.HOLD and override.until is not None and as_of < override.until


def standing(problem: Problem) -> Standing:
    """Read the problem's overrides: see the module docstring for which stand."""
    if not any(d.overrides for d in problem.demands) and not any(c.overrides for c in problem.cohorts):
        return Standing()
    return _Reading(problem).read()


_CACHE: list[tuple[Problem, Standing]] = []


def standing_of(problem: Problem) -> Standing:
    """:func:`standing`, read once per problem object (pair rules ask for every referral × cohort)."""
    for known, found in _CACHE:
        if known is problem:
            return found
    found = standing(problem)
    _CACHE[:] = [(problem, found), *_CACHE[:3]]
    return found


class _Reading:
    def __init__(self, problem: Problem) -> None:
        self.problem, self.params, self.as_of = problem, problem.params, problem.as_of
        self.cohorts = {c.cohort_id: c for c in problem.cohorts}
        self.demands = {d.referral_id: d for d in problem.demands}
        self.held: dict[str, Override] = {}
        self.never: dict[tuple[str, str], Override] = {}
        self.locks: dict[str, Override] = {}
        self.aside: list[SetAside] = []
        self.on: dict[str, list[Demand]] = {}  # cohort → people the overrides put on it, accepted so far
        self.holders: dict[str, list[Demand]] = {}  # cohort → people holding a place on it now
        for d in problem.demands:
            if d.current_cohort_id:
                self.holders.setdefault(d.current_cohort_id, []).append(d)

    def read(self) -> Standing:
        for demand in self.problem.demands:
            for o in sorted(demand.overrides):
                if held(o, self.as_of):
                    self.held.setdefault(demand.referral_id, o)
                elif o.kind == K.NEVER and o.cohort_id:
                    self.never.setdefault((demand.referral_id, o.cohort_id), o)
        for cohort in self.problem.cohorts:
            for o in sorted(cohort.overrides):
                if o.kind == K.LOCK:
                    self.locks.setdefault(cohort.cohort_id, o)
        stays = self._stays()
        keeps = self._keeps(stays)
        return Standing(self.held, self.never, keeps, self.locks, stays, tuple(self.aside))

    def _stays(self) -> dict[str, Override]:
        out = {}
        for demand in self.problem.demands:
            lock = self.locks.get(demand.current_cohort_id or "")
            if lock is not None and (why := self._refusal(demand, lock, self.cohorts[lock.cohort_id])) is None:
                out[demand.referral_id] = lock
                self.on.setdefault(lock.cohort_id, []).append(demand)
            elif lock is not None:
                self.aside.append(SetAside(lock, demand.referral_id, f"{demand.referral_id} leaves "
                                                                     f"{lock.cohort_id}: {why}"))
        return out

    def _keeps(self, stays: Mapping[str, Override]) -> dict[str, Override]:
        keeps: dict[str, Override] = {}
        wanted = sorted((o, d) for d in self.problem.demands for o in d.overrides if o.kind == K.KEEP)
        for o, demand in wanted:
            rid = demand.referral_id
            cohort = self.cohorts.get(o.cohort_id or "")
            if rid in keeps:
                why = f"an earlier override {keeps[rid].override_id} keeps it on {keeps[rid].cohort_id}"
            elif rid in stays:
                why = f"it holds a place on {stays[rid].cohort_id}, locked by override {stays[rid].override_id}"
            elif cohort is None:
                why = (f"{o.cohort_id} is not open to this plan (started before {self.as_of}, finished, "
                       f"cancelled, or beyond the horizon)")
            elif o.cohort_id in self.locks and demand.current_cohort_id != o.cohort_id:
                why = f"{o.cohort_id} is locked by override {self.locks[o.cohort_id].override_id}: nobody joins"
            else:
                why = self._refusal(demand, o, cohort)
            if why is None:
                keeps[rid] = o
                self.on.setdefault(cohort.cohort_id, []).append(demand)
            else:
                self.aside.append(SetAside(o, rid, why))
        return keeps

    def _refusal(self, demand: Demand, o: Override, cohort: CohortOption) -> str | None:
        """Why ``demand`` cannot safely be on ``cohort`` for override ``o`` (None: it can)."""
        rid, cid = demand.referral_id, cohort.cohort_id
        if rid in self.held:
            return f"held out of planning by override {self.held[rid].override_id} until {self.held[rid].until}"
        if (rid, cid) in self.never:
            return f"never on {cid} by override {self.never[(rid, cid)].override_id}"
        reason = compatible(demand, cohort, self.params, self.as_of)
        if reason is not None:
            return breaks(reason, demand, cohort, self.params, self.as_of)
        if conflicts_with_members(demand, cohort):
            return f"non-association: {demand.crn} and a member of {cid} must not be grouped"
        # Everyone an override puts there, and everyone holding a place there now (the plan may have to keep
        # theirs: a frozen place, a person told of it): a keep must fit beside them all, or it is set aside.
        others = self.on.get(cid, [])
        rivals = others + [h for h in self.holders.get(cid, ()) if h.referral_id != rid and h not in others]
        clash = next((other for other in rivals if demands_conflict(demand, other)), None)
        if clash is not None:
            return f"non-association: {demand.crn} and {clash.crn}, who is on {cid} too"
        if len(rivals) >= cohort.free_places:
            return (f"{cid} has no free place left for it ({cohort.free_places} free, {len(rivals)} held by "
                    f"others or by overrides)")
        return None


def breaks(reason: UnallocatedReason, demand: Demand, cohort: CohortOption, params: Params, as_of: date) -> str:
    """A compatibility failure in a planner's words."""
    cid = cohort.cohort_id
    if reason == UnallocatedReason.NO_COMPATIBLE_COHORT:
        if cohort.start_date < as_of:
            return f"{cid} started on {cohort.start_date}, before {as_of}: nobody new joins"
        return (f"{cid} does not take them (programme, pathway, offence cohort, LDC or sex: referral "
                f"{demand.programme_code} {demand.pathway} {demand.offence_cohort} LDC {demand.ldc} {demand.sex}, "
                f"cohort {cohort.programme_code} {cohort.pathway} {cohort.offence_cohort} LDC {cohort.ldc} "
                f"{cohort.sex})")
    if reason == UnallocatedReason.NOT_AVAILABLE:
        return f"not available on {cid}'s slots or cannot attend its office {cohort.office_code}"
    if reason == UnallocatedReason.NOT_READY:
        return f"ready from {demand.ready_from}, after {cid} starts on {cohort.start_date}"
    return f"{cid} ends {cohort.end_date}, after the latest end {latest_end(demand, params)}"


def in_words(o: Override) -> str:
    """How an explanation names an override."""
    if o.kind == K.HOLD:
        return f"held out of planning by override {o.override_id} until {o.until}"
    if o.kind == K.NEVER:
        return f"never on {o.cohort_id} by override {o.override_id}"
    if o.kind == K.KEEP:
        return f"kept on {o.cohort_id} by override {o.override_id}"
    return f"{o.cohort_id} locked by override {o.override_id}: nobody joins or leaves"


def placed_by(demand: Demand, cohort: CohortOption) -> str | None:
    """The override that put this person on this cohort, in words (None: the plan chose it)."""
    keep = next((o for o in demand.overrides if o.kind == K.KEEP and o.cohort_id == cohort.cohort_id), None)
    if keep is not None:
        return in_words(keep)
    lock = next((o for o in cohort.overrides if o.kind == K.LOCK), None)
    if lock is not None and demand.current_cohort_id == cohort.cohort_id:
        return f"stays on {cohort.cohort_id}, locked by override {lock.override_id}"
    return None


def ruled_out(demand: Demand, cohorts: Iterable[CohortOption], as_of: date) -> str | None:
    """For a referral with no place: the overrides that hold it out or rule out the cohorts it could join,
    in words (None when no override of theirs applies)."""
    hold = next((o for o in sorted(demand.overrides) if held(o, as_of)), None)
    if hold is not None:
        return in_words(hold)
    found = []
    for cohort in cohorts:
        never = next((o for o in demand.overrides if o.kind == K.NEVER and o.cohort_id == cohort.cohort_id), None)
        lock = next((o for o in cohort.overrides if o.kind == K.LOCK), None)
        if never is not None:
            found.append(in_words(never))
        elif lock is not None and demand.current_cohort_id != cohort.cohort_id:
            found.append(in_words(lock))
    return "; ".join(dict.fromkeys(found)) or None


def runs(cohort: CohortOption, opened: Iterable[str]) -> bool:
    return cohort.state == CohortState.OPEN or cohort.cohort_id in set(opened)
