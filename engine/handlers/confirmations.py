"""The delivery team's confirmations as standing instructions: whom they named, and who holds the place.

A ``cohort.confirmed`` comes from the system in which the group was set up and people were told their
dates. Every member any confirmation of a cohort named holds a *claim* on it (a later confirmation that
leaves someone out does not take back an earlier one's place: the delivery team withdraws a member
with a status change or by cancelling the cohort). Which claims hold a place is decided again, from
the facts as they stand, after every event that changes one of them (:func:`reconcile_touched`), so
the outcome does not depend on the order in which the events arrive.

The rule, for the claims on the region's confirmed cohorts taken together:

- claims are taken in the order their members became placeable — the later of the confirmation's time
  and the referral's assessment onto the waiting list — then by confirmation time and the order the
  confirmation lists them, then by referral id;
- a claim is spent once, after the confirmation, the referral leaves the waiting list or its place for a
  status the delivery team cannot place from (a practitioner's status change, a breach, a closure) or
  leaves the programme it was on: that is how the delivery team withdraws a member;
- a claim holds its place when the referral is known and open (waiting, scheduled or on the programme),
  has no place people fixed elsewhere (a place the plan proposed elsewhere gives way), was not taken by
  an earlier claim on another cohort, breaks no rule of the cohort against the facts now (programme,
  pathway, offence cohort, LDC, sex, non-association with the members taken before it, availability,
  offices, region; a group that ends after the deadline is kept and ``allocation.finishes_late`` asks
  for an extension), and the group is below its maximum;
- every other claim is refused: recorded with the rule and the detail for the
  ``confirmation.member_refused`` alert, which the treatment manager resolves. A place the delivery team
  made that a later fact makes unlawful is released by the same rule, with that alert — never silently;
  a correction that makes it lawful again gives it back;
- once a cohort has started, its members keep their places (a breach is flagged by the place audit).

Engine state: ``claims:<region>:<cohort>`` (the claims, JSON) and ``refused:<region>:<cohort>`` (the
refusals of the last decision, JSON; empty when none).
"""
from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine import state_keys as keys
from engine.domain.model import Allocation, Cohort, CohortStatus, Referral
from engine.domain.placement import HOLDING, Member, Rule, place_breaches
from engine.domain.statuses import ReferralStatus as S
from engine.events.outbound import AllocationChanged
from engine.handlers.context import Context, member_wait
from engine.handlers.status_log import placed
from engine.ports import UnitOfWork

JOINABLE = frozenset({S.AWAITING_ALLOCATION, S.SCHEDULED, S.ON_PROGRAMME})
_DECIDED = (CohortStatus.CONFIRMED, CohortStatus.STARTED)

@dataclass(frozen=True)
class Claim:
    referral_id: str
    at: datetime  # the confirmation's time
    position: int  # in the confirmation's list of members


class _Store:
    """Both families of one unit of work, read and parsed once (the decision runs after every event), with
    the claimants indexed; every write goes through it to the engine state."""

    def __init__(self, uow: UnitOfWork) -> None:
        # Weakly: _STORES holds the store strongly, so a strong reference back kept every unit of work (its
        # session, identity maps and loaded objects) alive for as long as the process (BENCHMARKS.md, issue 16,
        # session 16): the worker's heap grew by one per batch, and full collections with it.
        self._uow = weakref.ref(uow)
        self.claims: dict[tuple[str, str], list[Claim]] = {}
        self.refused: dict[tuple[str, str], list[dict]] = {}
        for key, value in self._read(keys.CLAIMS):
            self.claims[key] = [Claim(c["referral_id"], datetime.fromisoformat(c["at"]), c["position"])
                                for c in json.loads(value)]
        for key, value in self._read(keys.REFUSED):
            self.refused[key] = json.loads(value)
        self.claimants: dict[str, set[tuple[str, str]]] = {}
        for key, held in self.claims.items():
            for claim in held:
                self.claimants.setdefault(claim.referral_id, set()).add(key)

    @property
    def uow(self) -> UnitOfWork:
        uow = self._uow()
        assert uow is not None, "a confirmation store outlived its unit of work"
        return uow

    def _read(self, family: keys.Family):
        for name, value in self.uow.states(family.prefix).items():
            if value:
                yield family.parts(name), value

    def set_claims(self, key: tuple[str, str], held: list[Claim]) -> None:
        for claim in self.claims.get(key, []):
            self.claimants.get(claim.referral_id, set()).discard(key)
        for claim in held:
            self.claimants.setdefault(claim.referral_id, set()).add(key)
        self.claims[key] = held
        self.uow.set_state(keys.CLAIMS.key(*key), json.dumps(
            [{"referral_id": c.referral_id, "at": c.at.isoformat(), "position": c.position} for c in held])
            if held else "")
        if not held:
            del self.claims[key]

    def set_refused(self, key: tuple[str, str], members: list[dict]) -> None:
        if self.refused.get(key, []) == members:
            return
        self.uow.set_state(keys.REFUSED.key(*key), json.dumps(members) if members else "")
        if members:
            self.refused[key] = members
        else:
            self.refused.pop(key, None)


_STORES: "weakref.WeakKeyDictionary[UnitOfWork, _Store]" = weakref.WeakKeyDictionary()


def _store(uow: UnitOfWork) -> _Store:
    if uow not in _STORES:
        _STORES[uow] = _Store(uow)
    return _STORES[uow]


def claims(uow: UnitOfWork, region: str) -> dict[str, list[Claim]]:
    """Cohort id → every claim the confirmations of the cohort made (cohorts still open)."""
    return {cohort_id: held for (r, cohort_id), held in _store(uow).claims.items() if r == region}


def refusals(uow: UnitOfWork, region: str) -> dict[str, list[dict]]:
    """Cohort id → the members named by its confirmations that hold no place there now, with the rule.

    A unit of work whose confirmations were read already answers from them (with its own writes); otherwise only
    the region's refusals are read: a read-only caller (an explanation, an API answer) need not parse every
    region's claims, which cost 5 ms of a referral's 11 ms answer."""
    if uow in _STORES:
        return {cohort_id: members for (r, cohort_id), members in _STORES[uow].refused.items() if r == region}
    family = keys.REFUSED
    return {family.parts(name)[1]: json.loads(value)
            for name, value in uow.states(family.key(region, "")).items() if value}


def named(uow: UnitOfWork, referral_id: str, region: str, cohort_id: str) -> bool:
    """A confirmation of the cohort named the referral (its claim stands, whether or not it holds a place)."""
    return (region, cohort_id) in _store(uow).claimants.get(referral_id, set())


def add_claims(ctx: Context, cohort: Cohort, members) -> None:
    """The members a confirmation names join the cohort's claims (a member named twice keeps the earlier)."""
    store, key = _store(ctx.uow), (cohort.region_code, cohort.cohort_id)
    held = {c.referral_id: c for c in store.claims.get(key, [])}
    for position, referral_id in enumerate(dict.fromkeys(members)):
        new = Claim(referral_id, ctx.now, position)
        old = held.get(referral_id)
        if old is None or (new.at, new.position) < (old.at, old.position):
            held[referral_id] = new
    store.set_claims(key, sorted(held.values(), key=lambda c: (c.at, c.position, c.referral_id)))
    ctx.touched_cohorts.add(cohort.cohort_id)


# deciding ----------------------------------------------------------------------------------------

def reconcile_touched(ctx: Context) -> None:
    """After one event: decide the claims again on the confirmed cohorts the event changed, or whose
    claimants' facts it changed — with every cohort that shares a claimant with them."""
    store = _store(ctx.uow)
    if not store.claims or not (ctx.touched_crns or ctx.touched_cohorts):
        return
    seeds = {key for key in store.claims if key[1] in ctx.touched_cohorts}
    if ctx.touched_crns:
        for referral in ctx.uow.referrals.where(crn=sorted(ctx.touched_crns)):
            seeds |= store.claimants.get(referral.referral_id, set())
    if seeds:
        reconcile(ctx, seeds)


def _connected(store: _Store, seeds: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The seeds and every cohort reached from them through a member claimed by both."""
    found, todo = set(seeds), list(seeds)
    while todo:
        for claim in store.claims.get(todo.pop(), []):
            for key in store.claimants.get(claim.referral_id, set()) - found:
                found.add(key)
                todo.append(key)
    return found


def reconcile(ctx: Context, seeds: set[tuple[str, str]]) -> None:
    """Decide which claims on these cohorts (and those sharing a claimant) hold their places, and make it so.
    A cohort that completed or was cancelled has no claims that are news any more: they are dropped."""
    uow, store = ctx.uow, _store(ctx.uow)
    keys = _connected(store, seeds)
    found = {c.cohort_id: c for c in uow.cohorts.where(cohort_id=sorted({cid for _, cid in keys}))}
    cohorts = {}
    for key in sorted(keys):
        cohort = found.get(key[1])
        if cohort is not None and cohort.status in _DECIDED:
            cohorts[key[1]] = cohort
        elif cohort is None or cohort.status in (CohortStatus.COMPLETED, CohortStatus.CANCELLED):
            store.set_claims(key, [])
            store.set_refused(key, [])
    if not cohorts:
        return
    by_cohort = {cid: store.claims[(c.region_code, cid)] for cid, c in cohorts.items()}
    ids = sorted({claim.referral_id for held in by_cohort.values() for claim in held})
    referrals = {r.referral_id: r for r in uow.referrals.where(referral_id=ids)}
    decision = _Decision(ctx, cohorts, referrals)
    queue = sorted((decision.ready(claim), claim.at, claim.position, claim.referral_id, cid)
                   for cid, held in by_cohort.items() for claim in held)
    for _, at, _, referral_id, cohort_id in queue:
        decision.take(cohort_id, referral_id, at)
    decision.apply()
    for cohort in cohorts.values():
        trim_to_maximum(ctx, cohort)
        store.set_refused((cohort.region_code, cohort.cohort_id), decision.refused.get(cohort.cohort_id, []))


class _Decision:
    """One pass over the claims in order: who takes which place, who is refused and why."""

    def __init__(self, ctx: Context, cohorts: dict[str, Cohort], referrals: dict[str, Referral]) -> None:
        self.ctx, self.cohorts, self.referrals = ctx, cohorts, referrals
        self.taken: dict[str, str] = {}  # referral id → cohort id
        self.refused: dict[str, list[dict]] = {}
        self.groups: dict[str, list[Referral]] = {cid: [] for cid in cohorts}
        for cid, cohort in cohorts.items():  # members of a running group keep their places
            for r in ctx.uow.referrals.where(cohort_id=cid):
                if r.status in HOLDING and (cohort.status == CohortStatus.STARTED or r.status == S.ON_PROGRAMME):
                    self.groups[cid].append(r)
                    self.taken[r.referral_id] = cid
        self.running = set(self.taken)

    def ready(self, claim: Claim) -> datetime:
        """When the member became placeable: the later of the confirmation and their assessment."""
        referral = self.referrals.get(claim.referral_id)
        waiting = [h.at for h in referral.history if h.to_status == S.AWAITING_ALLOCATION] if referral else []
        return max([claim.at, min(waiting)] if waiting else [claim.at])

    def take(self, cohort_id: str, referral_id: str, at: datetime) -> None:
        if self.taken.get(referral_id) == cohort_id:
            return  # a running member, or named by two confirmations of the cohort
        cohort, referral = self.cohorts[cohort_id], self.referrals.get(referral_id)
        if referral is not None and _withdrawn(referral, at):
            return
        why = self._refusal(cohort, referral)
        if why is None:
            self.taken[referral_id] = cohort_id
            self.groups[cohort_id].append(referral)
            return
        self.refused.setdefault(cohort_id, []).append(
            {"referral_id": referral_id, "crn": referral.crn if referral else None, "rule": why[0], "detail": why[1]})

    def _refusal(self, cohort: Cohort, referral: Referral | None) -> tuple[str, str] | None:
        """Why the member cannot take a place on ``cohort`` now, as (rule, detail); None if they may."""
        ctx = self.ctx
        if referral is None:
            return "unknown", "referral never received by cohortplan: check the referral id or send the referral"
        if referral.status not in JOINABLE:
            return "status", f"referral is {referral.status.lower().replace('_', ' ')}"
        elsewhere = self.taken.get(referral.referral_id)
        if elsewhere is not None:
            return "other-place", f"already holds a place the delivery team made on cohort {elsewhere}"
        if referral.cohort_id not in (None, cohort.cohort_id) and not self._yields(referral):
            return "other-place", f"already holds a fixed place on cohort {referral.cohort_id}"
        group = self.groups[cohort.cohort_id]
        deadline = ctx.deadline_of(referral)
        latest_end = deadline - timedelta(days=ctx.rules.deadline_margin_days) if deadline else None
        others = [Member(r.referral_id, r.crn, self._named(r.crn)) for r in group]
        breaches = [b for b in place_breaches(referral, ctx.uow.people.get(referral.crn), cohort, latest_end, others)
                    if b.rule != Rule.DEADLINE]
        if breaches:
            return str(breaches[0].rule), "; ".join(f"{b.rule}: {b.detail}" for b in breaches)
        if len(group) >= cohort.max_size:
            return "max-size", f"cohort {cohort.cohort_id} already has {len(group)} people, maximum {cohort.max_size}"
        return None

    def _yields(self, referral: Referral) -> bool:
        """The member's place elsewhere gives way: the plan's proposal, or a claim decided in this pass."""
        allocation = self.ctx.uow.allocations.get(referral.referral_id)
        if allocation is not None and allocation.source == "DELIVERY" and referral.cohort_id in self.cohorts:
            return referral.status == S.SCHEDULED  # decided again here, in claim order
        other = self.ctx.uow.cohorts.get(referral.cohort_id)
        return (allocation is not None and allocation.source == "PLAN" and referral.status == S.SCHEDULED
                and other is not None and other.status in (CohortStatus.PROPOSED, CohortStatus.CONFIRMED))

    def _named(self, crn: str) -> frozenset[str]:
        person = self.ctx.uow.people.get(crn)
        return person.non_associations if person else frozenset()

    def apply(self) -> None:
        """Release the delivery team's places no claim holds now, then place the claims that hold."""
        ctx = self.ctx
        for cohort_id in sorted(self.cohorts):
            for referral in ctx.uow.referrals.where(cohort_id=cohort_id):
                allocation = ctx.uow.allocations.get(referral.referral_id)
                if (referral.status == S.SCHEDULED and allocation is not None and allocation.source == "DELIVERY"
                        and referral.referral_id not in self.taken):
                    why = next((m for m in self.refused.get(cohort_id, [])
                                if m["referral_id"] == referral.referral_id), None)
                    detail = f"{why['rule']}: {why['detail']}" if why else "no confirmation names the member now"
                    ctx.move(referral, S.AWAITING_ALLOCATION,
                             f"the delivery team's place on cohort {cohort_id} breaks a rule now: {detail}")
                    placed(ctx, referral, S.SCHEDULED)
        for referral_id, cohort_id in sorted(self.taken.items()):
            referral = self.referrals.get(referral_id)
            if referral_id in self.running or referral is None:
                continue
            allocation = ctx.uow.allocations.get(referral_id)
            if not (referral.cohort_id == cohort_id and allocation is not None and allocation.source == "DELIVERY"):
                _place(ctx, self.cohorts[cohort_id], referral)


def _withdrawn(referral: Referral, since: datetime) -> bool:
    """The claim is spent: after the confirmation the referral left the waiting list or a place for a status
    the delivery team cannot place from (a practitioner's status change, a breach, a closure), or left the
    programme it was on — the same whatever order the events arrived in (their event times decide)."""
    return any(h.at > since and h.from_status in JOINABLE and (h.to_status not in JOINABLE
                                                                or h.from_status == S.ON_PROGRAMME)
               for h in referral.history)


def trim_to_maximum(ctx: Context, cohort: Cohort) -> None:
    """More members hold places than the cohort's maximum (a redefinition lowered it, or the delivery team's
    members took it): the plan's own places that have not started leave, the latest made first."""
    holders = [r for r in ctx.uow.referrals.where(cohort_id=cohort.cohort_id) if r.status in HOLDING]
    extra = len(holders) - cohort.max_size
    if extra <= 0:
        return
    made = [(a.allocated_on, r.referral_id, r) for r in holders if r.status == S.SCHEDULED
            and (a := ctx.uow.allocations.get(r.referral_id)) is not None and a.source == "PLAN"]
    for _, _, referral in sorted(made, key=lambda t: (t[0], t[1]), reverse=True)[:extra]:
        ctx.move(referral, S.AWAITING_ALLOCATION, f"place breaks a rule: max-size: cohort {cohort.cohort_id} has "
                                                  f"{len(holders)} members, maximum {cohort.max_size}")
        placed(ctx, referral, S.SCHEDULED)


def _place(ctx: Context, cohort: Cohort, referral: Referral) -> None:
    """A member placed by the delivery team: pinned, not the plan's to move (taken off any proposal)."""
    previous = referral.cohort_id if referral.cohort_id != cohort.cohort_id else None
    ctx.uow.allocations.add(Allocation(referral.referral_id, cohort.cohort_id, 0, ctx.now.date(),
                                       "placed by the delivery team", source="DELIVERY", pinned=True))
    if referral.status == S.AWAITING_ALLOCATION:
        referral.move_to(S.SCHEDULED, ctx.now, f"placed on cohort {cohort.cohort_id}", ctx.event_id,
                         by_allocation=True)
        placed(ctx, referral, S.AWAITING_ALLOCATION)
    referral.cohort_id = cohort.cohort_id
    ctx.stamp(referral)
    ctx.dirty_regions.add(cohort.region_code)
    ctx.arrived(member_wait(referral.referral_id))  # an attendance that came before the place holds applies now
    if previous is not None:
        ctx.emit("allocation.changed", referral.crn, AllocationChanged(
            plan_version=0, referral_id=referral.referral_id, crn=referral.crn, cohort_id=cohort.cohort_id,
            start_date=cohort.start_date, end_date=cohort.end_date, deadline=ctx.deadline_of(referral),
            reason=f"placed on cohort {cohort.cohort_id} by the delivery team", previous_cohort_id=previous),
            referral.referral_id)
