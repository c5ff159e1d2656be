"""The invariants of the engine's state, checked on any state, however it was reached.

The solver has its own validator for its output (:func:`solver.check.check_plan`); this one judges
what the engine holds — or would hold once a plan is published — by the engine's own facts (people
as they are now, both sides of every non-association, deadlines as amended):

- every held place keeps the rules of :mod:`engine.domain.placement`, unless it is a place people
  made or a running programme, which is *flagged* (kept, and the ``place.breaks_rule`` alert asks
  the treatment manager to act) rather than a violation;
- no cohort the plan filled holds more people than its maximum;
- no facilitator is double-booked or over their weekly hours (from this week on) by the plan's own
  staffing choices, nor left so on a cohort the plan staffed where someone else was free to take over:
  staff people fixed come first (:func:`engine.services.problem.staff_fixed`, ``restaff``);
- a referral holds a place exactly when it is scheduled or on programme, and has an allocation then;
- every open referral is visible to planning: its person is known and has a region.

:func:`check_region` reads a region's state; :func:`check_places` is the pure core the planner also
runs on the memberships a plan would produce, before publishing it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable, Mapping

from engine.domain.model import Allocation, Cohort, CohortStatus, Person, Referral
from engine.domain.placement import HOLDING, Breach, Member, Remedy, place_breaches, remedy
from engine.domain.statuses import ReferralStatus as S
from engine.domain.rules import EngineRules
from engine.ports import UnitOfWork
from engine.services.problem import cohort_option, deadlines_of, restaffing, staff_fixed
from solver.rules import Ledger
from solver.schema import CohortOption

_OPEN = [CohortStatus.PROPOSED, CohortStatus.CONFIRMED, CohortStatus.STARTED]
_NOT_PLANNED = frozenset({S.AWAITING_ASSESSMENT})  # not yet on the list: no region needed yet


@dataclass(frozen=True)
class Violation:
    rule: str
    subject: str  # a referral, cohort or facilitator id
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} [{self.subject}]: {self.detail}"


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    flagged: list[Breach] = field(default_factory=list)  # kept places that break a rule (alerted)

    def __bool__(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class Places:
    """Who holds a place where: the memberships to judge, with the facts they are judged by."""

    cohorts: Mapping[str, Cohort]
    members: Mapping[str, list[Referral]]  # cohort id → referrals holding places in it
    people: Mapping[str, Person]
    deadlines: Mapping[str, date]
    allocations: Mapping[str, Allocation | None]
    made_by_plan: frozenset[str] = frozenset()  # referral ids the plan being judged places (never flagged)


def check_places(places: Places, rules: EngineRules) -> Report:
    report = Report()
    for cid, group in sorted(places.members.items()):
        cohort = places.cohorts.get(cid)
        if cohort is None:
            report.violations += [Violation("unknown-cohort", r.referral_id, f"holds a place on unknown cohort {cid}")
                                  for r in group]
            continue
        _check_group(places, cohort, group, rules, report)
    return report


def _check_group(places: Places, cohort: Cohort, group: list[Referral], rules: EngineRules,
                 report: Report) -> None:
    if len(group) > cohort.max_size and cohort.origin == "PLAN":
        report.violations.append(Violation("max-size", cohort.cohort_id,
                                           f"{len(group)} people, maximum {cohort.max_size}"))
    for referral in group:
        deadline = places.deadlines.get(referral.referral_id)
        latest_end = deadline - timedelta(days=rules.deadline_margin_days) if deadline else None
        others = [Member(o.referral_id, o.crn, _named(places, o.crn)) for o in group if o is not referral]
        for breach in place_breaches(referral, places.people.get(referral.crn), cohort, latest_end, others):
            fixed = remedy(referral, cohort, places.allocations.get(referral.referral_id)) == Remedy.FLAG
            if fixed and referral.referral_id not in places.made_by_plan:
                report.flagged.append(breach)
            else:
                report.violations.append(Violation(str(breach.rule), referral.referral_id,
                                                   f"cohort {breach.cohort_id}: {breach.detail}"))


def _named(places: Places, crn: str) -> frozenset[str]:
    person = places.people.get(crn)
    return person.non_associations if person else frozenset()


def check_staff(options: Iterable[CohortOption], plan_staffed: set[str], facilitators: Mapping[str, float],
                since: date | None = None, fixable: Iterable[str] = ()) -> list[Violation]:
    """Facilitators over their weekly hours or in two groups at once, where the plan is to blame: every
    group in the clash is one it staffed (``plan_staffed``), or one of them is a group whose staff it could
    have re-made (``fixable``: :func:`engine.services.problem.restaff` would change it). Load weeks from the
    week of ``since`` (all when None): earlier weeks are history no plan can change.

    Staff people fixed are given, and the plan re-staffs its own groups around them. A clash they leave that
    nobody free could resolve is theirs: ``facilitator.overbooked`` asks the treatment manager who gives way."""
    options, fixable = list(options), set(fixable)
    ledger = Ledger.of(options)
    first = since - timedelta(days=since.weekday()) if since else date.min

    def blamed(cids: list[str]) -> bool:
        return plan_staffed.issuperset(cids) or not fixable.isdisjoint(cids)

    out = []
    for (fid, week), hours in sorted(ledger.hours.items()):
        runs = ledger.runs[(fid, week)]
        if week >= first and fid in facilitators and hours > facilitators[fid] + 1e-9 and blamed(runs):
            out.append(Violation("facilitator-hours", fid, f"{hours:g}h in week {week} (limit {facilitators[fid]:g}h)"
                                                           f" across {', '.join(runs)}"))
    for (fid, day, start, week), cids in sorted(ledger.booked.items()):
        if week >= first and len(cids) > 1 and blamed(cids):
            out.append(Violation("double-booking", fid, f"{', '.join(cids)} at weekday {day} {start}, week {week}"))
    return _unique(out)


def _unique(violations: list[Violation]) -> list[Violation]:
    seen, out = set(), []
    for v in violations:
        key = (v.rule, v.subject, v.detail.split(" in week ")[-1].split(" across ")[-1])
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def check_region(uow: UnitOfWork, region: str, as_of: date, rules: EngineRules) -> Report:
    """Every invariant over one region's state as stored (and changed in this unit of work)."""
    cohorts = {c.cohort_id: c for c in uow.cohorts.where(region_code=region, status=_OPEN)}
    holders = [r for r in uow.referrals.where(cohort_id=sorted(cohorts)) if r.status in HOLDING] if cohorts else []
    crns = sorted({r.crn for r in holders})
    people = {p.crn: p for p in uow.people.where(crn=crns)} if crns else {}
    members: dict[str, list[Referral]] = {}
    for r in holders:
        members.setdefault(r.cohort_id, []).append(r)
    allocations = {a.referral_id: a for a in uow.allocations.where(referral_id=[r.referral_id for r in holders])} \
        if holders else {}
    report = check_places(Places(cohorts, members, people, deadlines_of(uow, holders), allocations), rules)
    report.violations += _bookkeeping(uow, holders, allocations, cohorts)
    report.violations += _visibility(uow, region)
    options = [cohort_option(c, (), rules, as_of) for c in cohorts.values() if c.live]
    staff = uow.facilitators.where(region_code=region)
    fixed = {c.cohort_id for c in cohorts.values() if c.live and staff_fixed(c)}
    report.violations += check_staff(options, {o.cohort_id for o in options} - fixed,
                                     {f.facilitator_id: f.weekly_hours for f in staff}, as_of,
                                     restaffing(options, fixed, staff, as_of))
    return report


def _bookkeeping(uow: UnitOfWork, holders: list[Referral], allocations: Mapping[str, Allocation],
                 cohorts: Mapping[str, Cohort]) -> list[Violation]:
    out = []
    for r in holders:
        if r.referral_id not in allocations:
            out.append(Violation("allocation-missing", r.referral_id, f"holds cohort {r.cohort_id} without an allocation"))
        elif allocations[r.referral_id].cohort_id != r.cohort_id:
            out.append(Violation("allocation-mismatch", r.referral_id, f"holds {r.cohort_id}, allocation says "
                                                                       f"{allocations[r.referral_id].cohort_id}"))
    for r in uow.referrals.where(status=[S.SCHEDULED]):
        if r.cohort_id is None:
            out.append(Violation("scheduled-without-place", r.referral_id, "scheduled but holds no place"))
    return out


def _visibility(uow: UnitOfWork, region: str) -> list[Violation]:
    """Open referrals whose person is unknown or has no region cannot be planned, listed or alerted on."""
    open_ = [r for r in uow.referrals.where(status=[s for s in S if not s.closed and s not in _NOT_PLANNED])]
    crns = sorted({r.crn for r in open_})
    people = {p.crn: p for p in uow.people.where(crn=crns)} if crns else {}
    out = []
    for r in open_:
        person = people.get(r.crn)
        if person is None or not person.region_code:
            out.append(Violation("invisible-referral", r.referral_id,
                                 f"crn {r.crn} has {'no person record' if person is None else 'no region'}"))
        elif person.merged_into:
            out.append(Violation("invisible-referral", r.referral_id, f"crn {r.crn} was merged into {person.merged_into}"))
    return out
