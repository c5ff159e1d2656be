"""State → the allocator's plain-data :class:`~solver.schema.Problem` (the allocation seam's input).

Who is pinned is decided here, not by allocators: anyone in a cohort that has started, or that
starts within the freeze window, is a fixed member; everyone else waiting or scheduled is a demand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from engine.domain import policies
from engine.domain.model import Cohort, CohortStatus, Person, Referral
from engine.domain.statuses import ReferralStatus as S
from engine.handlers.context import EngineRules
from engine.ports import UnitOfWork
from engine.services.candidates import Grid, grid_cohorts
from solver import schema as s


@dataclass(frozen=True)
class Snapshot:
    """What the plan was built from, kept for the diff and the explanation of decisions."""

    problem: s.Problem
    referrals: dict[str, Referral]
    cohorts: dict[str, Cohort]
    deadlines: dict[str, date]
    pinned: set[str]
    grid: frozenset[str] = frozenset()  # candidate ids from the grid: not stored until the plan opens one
    people: dict[str, Person] = field(default_factory=dict)  # the people of the referrals, for the plan gate


def pinned_cohort(cohort: Cohort, as_of: date, freeze_days: int) -> bool:
    return cohort.status == CohortStatus.STARTED or cohort.start_date <= as_of + timedelta(days=freeze_days)


def build_problem(uow: UnitOfWork, region: str, as_of: date, rules: EngineRules,
                  params: s.Params, grid: Grid | None = None) -> Snapshot:
    cohorts = {c.cohort_id: c for c in uow.cohorts.where(region_code=region, status=[
        CohortStatus.PROPOSED, CohortStatus.CONFIRMED, CohortStatus.STARTED])}
    live = [cid for cid, c in cohorts.items() if c.live]
    # Only who matters to this plan: the waiting list and the members of running groups.
    candidates = uow.referrals.where(status=S.AWAITING_ALLOCATION) + (uow.referrals.where(
        cohort_id=live, status=[S.SCHEDULED, S.ON_PROGRAMME]) if live else [])
    people = {p.crn: p for p in uow.people.where(crn=sorted({r.crn for r in candidates}))
              if p.region_code == region} if candidates else {}
    referrals = [r for r in candidates if r.crn in people]
    deadlines = deadlines_of(uow, referrals)
    horizon = as_of + timedelta(weeks=params.horizon_weeks)
    pinned_ids = {cid for cid in live if pinned_cohort(cohorts[cid], as_of, params.freeze_days)}
    members: dict[str, list[Referral]] = {}
    demands = []
    movable = set(live) - pinned_ids
    # A place the delivery team gave (or one already pinned) is a fact, not the plan's to move.
    held = {a.referral_id for a in uow.allocations.where(cohort_id=sorted(movable), pinned=True)} if movable else set()
    for referral in referrals:
        holds_fixed_place = referral.cohort_id is not None and (
            referral.cohort_id not in movable or referral.referral_id in held)
        if holds_fixed_place or referral.status == S.ON_PROGRAMME:
            members.setdefault(referral.cohort_id or "", []).append(referral)
        elif _plannable(referral, deadlines.get(referral.referral_id), as_of, horizon):
            demands.append(_demand(referral, people[referral.crn], deadlines[referral.referral_id]))
    options = [cohort_option(c, members.get(cid, ()), rules, as_of, _named_by(members.get(cid, ()), people))
               for cid, c in sorted(cohorts.items()) if _offerable(c, cid in pinned_ids, as_of, horizon)]
    offices = uow.offices(region)
    gridded = [c for c in grid_cohorts(region, as_of, params.horizon_weeks, demands, offices, rules.catalogue,
                                       rules.is_holiday, grid) if c.cohort_id not in cohorts] if grid else []
    options += [cohort_option(c, (), rules, as_of) for c in gridded]
    cohorts.update({c.cohort_id: c for c in gridded})
    problem = s.Problem(region, as_of, tuple(sorted(demands, key=lambda d: d.referral_id)), tuple(options),
                        tuple(_facilitators(uow, region, as_of)), tuple(
                            s.Office(o.office_code, o.pdu_code, o.rooms) for o in offices), params)
    pinned = {r.referral_id for group in members.values() for r in group}
    return Snapshot(problem, {r.referral_id: r for r in referrals}, cohorts, deadlines, pinned,
                    frozenset(c.cohort_id for c in gridded), people)


def _plannable(referral: Referral, deadline: date | None, as_of: date, horizon: date) -> bool:
    """Waiting (or holding an unpinned place), with a deadline still ahead and ready within the horizon."""
    return deadline is not None and deadline > as_of and (referral.ready_from or as_of) <= horizon


def _offerable(cohort: Cohort, pinned: bool, as_of: date, horizon: date) -> bool:
    if cohort.live:
        return True  # places in running groups are counted even when full (members, load, rooms)
    return as_of + timedelta(days=1) <= cohort.start_date <= horizon and not pinned


def deadlines_of(uow: UnitOfWork, referrals: list[Referral]) -> dict[str, date]:
    requirements = {q.requirement_id: q for q in uow.requirements.where(
        requirement_id=[r.requirement_id for r in referrals])} if referrals else {}
    sentences = {x.sentence_id: x for x in uow.sentences.where(
        sentence_id=[q.sentence_id for q in requirements.values()])} if requirements else {}
    out = {}
    for referral in referrals:
        requirement = requirements.get(referral.requirement_id)
        sentence = requirement and sentences.get(requirement.sentence_id)
        if sentence:
            out[referral.referral_id] = policies.deadline(requirement.end_date, sentence.expected_end_date)
    return out


def _demand(referral: Referral, person: Person, deadline: date) -> s.Demand:
    return s.Demand(
        referral_id=referral.referral_id, crn=referral.crn, programme_code=referral.programme_code,
        pathway=referral.pathway, offence_cohort=referral.offence_cohort, ldc=referral.ldc, sex=person.sex,
        risk_band=referral.risk_band, referred_on=referral.referred_on,
        ready_from=referral.ready_from or referral.referred_on, deadline=deadline, pdu_code=person.pdu_code,
        availability=frozenset((w, s.Period(p)) for w, p in person.availability),
        reachable_offices=frozenset(), excluded_offices=person.cannot_attend_offices,
        non_associations=person.non_associations, current_cohort_id=referral.cohort_id)


def _named_by(members, people: dict[str, Person]) -> frozenset[str]:
    """The crns a cohort's fixed members name as non-associations: the other side of the pair rule."""
    return frozenset().union(*(people[m.crn].non_associations for m in members if m.crn in people))


def cohort_option(cohort: Cohort, members, rules: EngineRules, as_of: date,
                  member_non_associations: frozenset[str] = frozenset()) -> s.CohortOption:
    programme = rules.catalogue.get(cohort.programme_code)
    hours = weekly_hours(programme, len(cohort.slots))
    return s.CohortOption(
        cohort_id=cohort.cohort_id, programme_code=cohort.programme_code, pathway=cohort.pathway,
        offence_cohort=cohort.offence_cohort, ldc=cohort.ldc, sex=cohort.sex, office_code=cohort.office_code,
        pdu_code=cohort.pdu_code, slots=tuple(s.Slot(x.weekday, x.start, s.Period(x.period)) for x in cohort.slots),
        start_date=cohort.start_date, end_date=cohort.end_date, min_size=cohort.min_size,
        max_size=cohort.max_size, state=s.CohortState.OPEN if cohort.live else s.CohortState.CANDIDATE,
        members=tuple(sorted(m.referral_id for m in members)), member_crns=tuple(sorted(m.crn for m in members)),
        member_non_associations=member_non_associations,
        facilitator_ids=cohort.facilitator_ids, facilitators_required=programme.facilitators_per_group,
        facilitator_weekly_hours=hours, group_weeks=max(1, cohort.group_weeks), load_start=cohort.group_start)


def weekly_hours(programme, sessions_per_week: int) -> float:
    """Delivery plus preparation per facilitator per week while the group runs."""
    group = next((t for t in programme.sessions_in_order if t.is_group), None)
    minutes = (group.minutes if group else 150) + programme.prep_minutes_per_group_session
    return round(sessions_per_week * minutes / 60, 2)


def _facilitators(uow: UnitOfWork, region: str, as_of: date):
    for f in uow.facilitators.where(region_code=region):
        if f.left_on is not None and f.left_on <= as_of:
            continue
        yield s.Facilitator(f.facilitator_id, f.programmes, f.offices, f.weekly_hours,
                            frozenset((w, s.Period(p)) for w, p in f.availability), f.absences, f.left_on)
