"""Held places re-checked against the rules whenever the facts under them change.

Called in the transaction that applied an event (for the people and cohorts it touched) and at the
start of every plan (for the whole region), so no event order can leave a place that breaks a rule:
a place the plan made is removed at once, inside the freeze window too (at the start of a plan, one
the plan may still move is left to it: it moves the person), and a place people made or a running
programme is kept and flagged (see :func:`engine.domain.placement.remedy`). Every removal
is recorded (engine state, :data:`engine.state_keys.UNSAFE_REMOVED`) until the next plan of the region has seen the person
again, so the ``place.breaks_rule`` alert can say which rule took the place away and what to do.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Callable, Iterable

from engine import state_keys as keys
from engine.domain.model import Cohort, CohortStatus, Person, Referral
from engine.domain.statuses import ReferralStatus
from engine.domain.placement import HOLDING, Breach, Member, Remedy, Rule, place_breaches, remedy
from engine.domain.rules import EngineRules
from engine.handlers.context import Context
from engine.ports import UnitOfWork
from engine.services.problem import deadlines_of, pinned_cohort

_OPEN_COHORT = [CohortStatus.PROPOSED, CohortStatus.CONFIRMED, CohortStatus.STARTED]


@dataclass(frozen=True)
class Finding:
    breach: Breach
    remedy: Remedy
    region_code: str


class PlaceAudit:
    """One audit over a set of cohorts: their members, people, deadlines and the pair rule."""

    def __init__(self, uow: UnitOfWork, rules: EngineRules, cohort_ids: Iterable[str]) -> None:
        self.uow, self.rules = uow, rules
        ids = sorted(set(cohort_ids))
        self.cohorts: dict[str, Cohort] = {c.cohort_id: c for c in uow.cohorts.where(cohort_id=ids)
                                           if c.status in _OPEN_COHORT} if ids else {}
        members = uow.referrals.where(cohort_id=sorted(self.cohorts)) if self.cohorts else []
        self.members = [r for r in members if r.status in HOLDING]
        crns = sorted({r.crn for r in self.members})
        self.people: dict[str, Person] = {p.crn: p for p in uow.people.where(crn=crns)} if crns else {}
        self.deadlines = deadlines_of(uow, self.members)

    def findings(self, only: Callable[[Referral], bool] = lambda r: True) -> list[Finding]:
        by_cohort: dict[str, list[Referral]] = {}
        for r in self.members:
            by_cohort.setdefault(r.cohort_id, []).append(r)
        out = []
        for referral in sorted(self.members, key=lambda r: r.referral_id):
            if not only(referral):
                continue
            for breach in self._breaches(referral, by_cohort[referral.cohort_id]):
                out.append(Finding(breach, self._remedy(referral), self.cohorts[referral.cohort_id].region_code))
        return out

    def _breaches(self, referral: Referral, group: list[Referral]) -> list[Breach]:
        cohort = self.cohorts[referral.cohort_id]
        deadline = self.deadlines.get(referral.referral_id)
        latest_end = deadline - timedelta(days=self.rules.deadline_margin_days) if deadline else None
        others = [Member(r.referral_id, r.crn, self._named(r.crn)) for r in group
                  if r.referral_id != referral.referral_id and r.cohort_id == cohort.cohort_id]
        return place_breaches(referral, self.people.get(referral.crn), cohort, latest_end, others)

    def _named(self, crn: str) -> frozenset[str]:
        person = self.people.get(crn)
        return person.non_associations if person else frozenset()

    def _remedy(self, referral: Referral) -> Remedy:
        return remedy(referral, self.cohorts[referral.cohort_id], self.uow.allocations.get(referral.referral_id))


def enforce(uow: UnitOfWork, rules: EngineRules, cohort_ids: Iterable[str], as_of: date,
            remove: Callable[[Referral, str], None], first: Iterable[str] = (),
            leave_movable: bool = False) -> list[Finding]:
    """Remove the plan's places that break a rule (``remove(referral, reason)`` frees one) and return
    every finding, removed or flagged. After an event every such place goes at once, whoever may move it
    later. With ``leave_movable`` (the planner, which re-plans the region straight away) a place the plan
    may still move is left to that plan, so the person is moved rather than removed and placed again (the
    plan never keeps an incompatible place, and the gate checks that it did not) — except a place in
    another region than the person's, which no plan of either region sees. A non-association is settled
    by removing one person only: those in ``first`` (whose facts just changed), then by referral id; the
    pair is re-checked after each removal."""
    audit = PlaceAudit(uow, rules, cohort_ids)
    preferred = set(first)
    findings, removed = [], set()
    movable = {r.referral_id for r in audit.members if leave_movable and _movable_by_plan(
        uow, r, audit.cohorts[r.cohort_id], as_of, rules.freeze_days)}

    def ours(f: Finding) -> bool:
        return f.breach.referral_id not in movable or f.breach.rule == Rule.REGION

    while True:
        open_ = [f for f in audit.findings(lambda r: r.referral_id not in removed) if ours(f)]
        removable = [f for f in open_ if f.remedy == Remedy.REMOVE]
        if not removable:
            return findings + open_
        removable.sort(key=lambda f: (f.breach.crn not in preferred, f.breach.referral_id))
        target = removable[0].breach.referral_id
        mine = [f for f in removable if f.breach.referral_id == target]
        referral = next(r for r in audit.members if r.referral_id == target)
        remove(referral, "place breaks a rule: " + "; ".join(f"{f.breach.rule}: {f.breach.detail}" for f in mine))
        record_removal(uow, mine)
        findings += mine
        removed.add(target)
        audit.members = [r for r in audit.members if r.referral_id != target]


def _movable_by_plan(uow: UnitOfWork, referral: Referral, cohort: Cohort, as_of: date, freeze_days: int) -> bool:
    """The next plan may still move this place: its own, scheduled, not pinned, outside the freeze window."""
    allocation = uow.allocations.get(referral.referral_id)
    return (referral.status == ReferralStatus.SCHEDULED and allocation is not None and allocation.source == "PLAN"
            and not allocation.pinned and not pinned_cohort(cohort, as_of, freeze_days))


def record_removal(uow: UnitOfWork, findings: list[Finding]) -> None:
    first = findings[0]
    uow.set_state(keys.UNSAFE_REMOVED.key(first.breach.referral_id), json.dumps({
        "region_code": first.region_code, "crn": first.breach.crn, "cohort_id": first.breach.cohort_id,
        "rules": [str(f.breach.rule) for f in findings],
        "detail": "; ".join(f"{f.breach.rule}: {f.breach.detail}" for f in findings)}))


def removals(uow: UnitOfWork, region: str) -> dict[str, dict]:
    """Places taken away for a broken rule and not yet seen by a plan of the region."""
    out = {}
    for name, value in uow.states(keys.UNSAFE_REMOVED.prefix).items():
        record = json.loads(value) if value else None
        if record and record["region_code"] == region:
            out[keys.UNSAFE_REMOVED.parts(name)[0]] = record
    return out


def forget_removals(uow: UnitOfWork, referral_ids: Iterable[str]) -> None:
    """A plan has considered these people again: the removal is no longer news."""
    for rid in referral_ids:
        if uow.get_state(keys.UNSAFE_REMOVED.key(rid)):
            uow.set_state(keys.UNSAFE_REMOVED.key(rid), "")


def held_cohorts(uow: UnitOfWork, crns: Iterable[str]) -> set[str]:
    """The cohorts in which these people hold places."""
    crns = sorted(set(crns))
    if not crns:
        return set()
    return {r.cohort_id for r in uow.referrals.where(crn=crns) if r.cohort_id and r.status in HOLDING}


def region_cohorts(uow: UnitOfWork, region: str) -> set[str]:
    return {c.cohort_id for c in uow.cohorts.where(region_code=region, status=_OPEN_COHORT)}


def as_dict(finding: Finding) -> dict:
    return {**asdict(finding.breach), "rule": str(finding.breach.rule), "remedy": str(finding.remedy),
            "region_code": finding.region_code}


__all__ = ["Finding", "PlaceAudit", "enforce", "enforce_touched", "forget_removals", "held_cohorts", "region_cohorts",
           "removals", "Remedy"]


def enforce_touched(ctx: Context) -> list[Finding]:
    """After one event (and the delivery team's claims decided again,
    :func:`engine.handlers.confirmations.reconcile_touched`): re-check the places of the people and cohorts
    it changed (and their groups)."""
    if not ctx.touched_crns and not ctx.touched_cohorts:
        return []
    cohorts = ctx.touched_cohorts | held_cohorts(ctx.uow, ctx.touched_crns)
    if not cohorts:
        return []

    def remove(referral: Referral, reason: str) -> None:
        ctx.move(referral, ReferralStatus.AWAITING_ALLOCATION, reason)

    findings = enforce(ctx.uow, ctx.rules, cohorts, ctx.today, remove, first=ctx.touched_crns)
    ctx.dirty_regions.update(f.region_code for f in findings)
    return findings
