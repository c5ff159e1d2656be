"""programmes.delivery.v1: planned cohorts, confirmations, facilitators, attendance."""
from __future__ import annotations

from datetime import timedelta

from engine.domain.calendar import WeeklySlot
from engine.domain.errors import DomainError
from engine.domain.model import Allocation, Cohort, CohortStatus, Facilitator
from engine.domain.placement import HOLDING, Member, Rule, place_breaches
from engine.domain.statuses import ReferralStatus as S
from engine.events.outbound import AllocationChanged
from engine.events import inbound as i
from engine.handlers.context import Context, Stale
from engine.ports import Attendance
from engine.handlers.refusals import record_refusals, refusals, refusals_of

JOINABLE = frozenset({S.AWAITING_ALLOCATION, S.SCHEDULED, S.ON_PROGRAMME})


def cohort_planned(ctx: Context, p: i.CohortPlanned) -> None:
    """A cohort as the delivery team defined it; a changed definition of a cohort not yet started is
    applied (and its members re-checked after the event), one that cannot be met is refused."""
    programme = ctx.rules.catalogue.get(p.programme_code)
    min_size, max_size = p.min_size or programme.min_size, p.max_size or programme.max_size
    if min_size > max_size:
        raise DomainError(f"cohort {p.cohort_id}: min_size {min_size} is above max_size {max_size}")
    existing = ctx.uow.cohorts.get(p.cohort_id)
    if existing is not None:
        if ctx.newer_than_event(existing, "definition"):
            raise Stale(f"cohort {p.cohort_id} was defined by a newer message")
        if existing.status in (CohortStatus.STARTED, CohortStatus.COMPLETED, CohortStatus.CANCELLED):
            raise DomainError(f"cohort {p.cohort_id}: a {existing.status} cohort cannot be redefined")
    cohort = Cohort(p.cohort_id, p.region_code, p.programme_code, p.office_code, p.pdu_code,
                    tuple(WeeklySlot(s.weekday, s.start, s.period) for s in p.slots), p.start_date,
                    p.start_date, 0, p.pathway, p.sex, p.offence_cohort, p.ldc, min_size, max_size)
    ctx.schedule(cohort)  # computes the end date from the real calendar; bad slots are rejected
    if existing is not None:
        if existing.region_code != cohort.region_code:
            raise DomainError(f"cohort {p.cohort_id}: region {p.region_code} differs from {existing.region_code}")
        if _definition(existing) == _definition(cohort):
            return  # the same definition re-sent: nothing changes
        cohort.status, cohort.facilitator_ids, cohort.origin = existing.status, existing.facilitator_ids, existing.origin
        cohort.updated_at, cohort.field_times = existing.updated_at, dict(existing.field_times)
    cohort.field_times.update(definition=ctx.now, schedule=ctx.now)
    ctx.uow.cohorts.add(cohort)
    ctx.stamp(cohort)
    if existing is not None:
        _trim_to_maximum(ctx, cohort)
    ctx.dirty_regions.add(p.region_code)
    ctx.arrived(f"cohort:{p.cohort_id}")


def _trim_to_maximum(ctx: Context, cohort: Cohort) -> None:
    """A redefinition that lowers the maximum below the members holding places: the plan's own places that
    have not started leave, the latest made first; places people made stay (cohort.below_minimum and the
    treatment manager see the group)."""
    holders = [r for r in ctx.uow.referrals.where(cohort_id=cohort.cohort_id) if r.status in HOLDING]
    extra = len(holders) - cohort.max_size
    if extra <= 0:
        return
    made = [(a.allocated_on, r.referral_id, r) for r in holders if r.status == S.SCHEDULED
            and (a := ctx.uow.allocations.get(r.referral_id)) is not None and a.source == "PLAN"]
    for _, _, referral in sorted(made, key=lambda t: (t[0], t[1]), reverse=True)[:extra]:
        ctx.move(referral, S.AWAITING_ALLOCATION, f"place breaks a rule: max-size: cohort {cohort.cohort_id} was "
                                                  f"redefined with a maximum of {cohort.max_size}")


def _definition(c: Cohort) -> tuple:
    return (c.programme_code, c.office_code, c.pdu_code, c.slots, c.start_date, c.pathway, c.sex, c.offence_cohort,
            c.ldc, c.min_size, c.max_size)


def cohort_confirmed(ctx: Context, p: i.CohortConfirmed) -> None:
    """The delivery team's confirmation is a fact: the cohort is confirmed with its facilitators and
    every member who may lawfully be there is placed; each member it cannot honour is recorded for
    the ``confirmation.member_refused`` alert (naming the member, the cohort and the rule)."""
    cohort = _cohort(ctx, p.cohort_id)
    # An older confirmation arriving late still places its members, but never puts back facilitators a
    # newer one gave the cohort. The cohort starts when a plan or attendance reaches its (final) start date,
    # not on the confirmation's date: a reschedule may still arrive that was sent before it.
    older = ctx.newer_than_event(cohort, "staff") and bool(cohort.facilitator_ids)
    cohort.confirm(cohort.facilitator_ids if older else (tuple(p.facilitator_ids) or cohort.facilitator_ids))
    if not older:
        cohort.field_times["staff"] = ctx.now
    ctx.stamp(cohort)
    ctx.dirty_regions.add(cohort.region_code)
    holders = [r for r in ctx.uow.referrals.where(cohort_id=cohort.cohort_id) if r.status in HOLDING]
    group = {r.referral_id: r for r in holders}
    refused = []
    for rid in dict.fromkeys(p.members):
        referral = ctx.uow.referrals.get(rid)
        why = _refusal(ctx, cohort, referral, list(group.values())) if rid not in group else None
        if why is not None:
            refused.append({"referral_id": rid, "crn": referral.crn if referral else None, "rule": why[0],
                            "detail": why[1]})
            continue
        _place(ctx, cohort, referral)
        group[rid] = referral
    if older:  # a newer confirmation's refusals stand; this one's are added
        named = {m["referral_id"] for m in refused}
        refused = [m for m in refusals(ctx.uow, cohort.region_code).get(cohort.cohort_id, [])
                   if m["referral_id"] not in named and m["referral_id"] not in group] + refused
    record_refusals(ctx.uow, cohort, refused)


def place_if_confirmed(ctx: Context, referral) -> None:
    """A referral that reached the waiting list after a confirmation named it (unknown or not yet assessed
    then) takes the place now if it may lawfully, as it would have had the events come in their own order."""
    for cohort_id, members in refusals_of(ctx.uow, referral.referral_id):
        cohort = ctx.uow.cohorts.get(cohort_id)
        if cohort is None or cohort.status not in (CohortStatus.CONFIRMED, CohortStatus.STARTED):
            continue
        group = [r for r in ctx.uow.referrals.where(cohort_id=cohort_id) if r.status in HOLDING]
        why = _refusal(ctx, cohort, referral, group)
        rest = [m for m in members if m["referral_id"] != referral.referral_id]
        if why is None:
            _place(ctx, cohort, referral)
        else:
            rest.append({"referral_id": referral.referral_id, "crn": referral.crn, "rule": why[0], "detail": why[1]})
        record_refusals(ctx.uow, cohort, rest)
        if why is None:
            return


def _refusal(ctx: Context, cohort: Cohort, referral, group) -> tuple[str, str] | None:
    """Why the member cannot take a place in ``group`` (the members holding places now), or None."""
    why = _cannot_join(ctx, cohort, referral, group)
    if why is None and len(group) >= cohort.max_size:
        why = ("max-size", f"cohort {cohort.cohort_id} already has {len(group)} people, maximum {cohort.max_size}")
    return why


def _cannot_join(ctx: Context, cohort: Cohort, referral, group) -> tuple[str, str] | None:
    """Why the delivery team's member cannot be placed here, as (rule, detail); None if they may."""
    if referral is None:
        return "unknown", "referral never received by cohortplan: check the referral id or send the referral"
    if referral.status not in JOINABLE:
        return "status", f"referral is {referral.status.lower().replace('_', ' ')}"
    if referral.cohort_id not in (None, cohort.cohort_id) and not _proposal(ctx, referral):
        return "other-place", f"already holds a fixed place on cohort {referral.cohort_id}"
    person = ctx.uow.people.get(referral.crn)
    deadline = ctx.deadline_of(referral)
    latest_end = deadline - timedelta(days=ctx.rules.deadline_margin_days) if deadline else None
    others = [Member(r.referral_id, r.crn, _named(ctx, r.crn)) for r in group if r.referral_id != referral.referral_id]
    # A group that ends after the deadline less the catch-up margin is the planner's rule, not a bar to
    # a place people chose: it is kept, and allocation.finishes_late asks for an extension or alternative.
    # A fact newer than the confirmation (a correction that happened after it, arriving first) does not
    # refuse the member: in event order they were placed, then the correction flagged the place.
    breaches = [b for b in place_breaches(referral, person, cohort, latest_end, others)
                if b.rule != Rule.DEADLINE and not _newer_fact(ctx, b, person, group)]
    if breaches:
        return str(breaches[0].rule), "; ".join(f"{b.rule}: {b.detail}" for b in breaches)
    return None


PERSON_FIELD = {Rule.SEX: "sex", Rule.AVAILABILITY: "availability", Rule.OFFICE: "cannot_attend_offices",
                Rule.REGION: "region_code", Rule.NON_ASSOCIATION: "non_associations"}


def _newer_fact(ctx: Context, breach, person, group) -> bool:
    name = PERSON_FIELD.get(breach.rule)
    if name is None or person is None:
        return False
    people = [person] + ([p for p in (ctx.uow.people.get(r.crn) for r in group) if p]
                         if breach.rule == Rule.NON_ASSOCIATION else [])
    return any(ctx.newer_than_event(p, name) for p in people)


def _named(ctx: Context, crn: str) -> frozenset[str]:
    person = ctx.uow.people.get(crn)
    return person.non_associations if person else frozenset()


def _proposal(ctx: Context, referral) -> bool:
    """A place the plan proposed elsewhere and that has not started: the confirmation takes precedence."""
    allocation = ctx.uow.allocations.get(referral.referral_id)
    other = ctx.uow.cohorts.get(referral.cohort_id) if referral.cohort_id else None
    return (allocation is not None and allocation.source == "PLAN" and referral.status == S.SCHEDULED
            and other is not None and other.status in (CohortStatus.PROPOSED, CohortStatus.CONFIRMED))


def _place(ctx: Context, cohort: Cohort, referral) -> None:
    """A member placed by the delivery team: pinned, not the plan's to move (taken off any proposal)."""
    previous = referral.cohort_id if referral.cohort_id != cohort.cohort_id else None
    ctx.uow.allocations.add(Allocation(referral.referral_id, cohort.cohort_id, 0, ctx.now.date(),
                                       "placed by the delivery team", source="DELIVERY", pinned=True))
    if referral.status == S.AWAITING_ALLOCATION:
        referral.move_to(S.SCHEDULED, ctx.now, f"placed on cohort {cohort.cohort_id}", ctx.event_id,
                         by_allocation=True)
    referral.cohort_id = cohort.cohort_id
    ctx.stamp(referral)
    if previous is not None:
        ctx.emit("allocation.changed", referral.crn, AllocationChanged(
            plan_version=0, referral_id=referral.referral_id, crn=referral.crn, cohort_id=cohort.cohort_id,
            start_date=cohort.start_date, end_date=cohort.end_date, deadline=ctx.deadline_of(referral),
            reason=f"placed on cohort {cohort.cohort_id} by the delivery team", previous_cohort_id=previous),
            referral.referral_id)
        ctx.dirty_regions.add(cohort.region_code)


def cohort_cancelled(ctx: Context, p: i.CohortCancelled) -> None:
    cohort = _cohort(ctx, p.cohort_id)
    if cohort.status in (CohortStatus.COMPLETED, CohortStatus.CANCELLED):
        return
    cohort.status = CohortStatus.CANCELLED
    reason = f"cohort {cohort.cohort_id} cancelled: {p.reason or 'no reason given'}"
    for referral in ctx.uow.referrals.where(cohort_id=cohort.cohort_id):
        target = S.AWAITING_ALLOCATION
        ctx.move(referral, target, reason)
    ctx.stamp(cohort)
    ctx.dirty_regions.add(cohort.region_code)


def cohort_rescheduled(ctx: Context, p: i.CohortRescheduled) -> None:
    cohort = _cohort(ctx, p.cohort_id)
    if ctx.newer_than_event(cohort, "schedule"):  # an older reschedule arriving late never moves it back
        raise Stale(f"cohort {cohort.cohort_id} was rescheduled by a newer message")
    if cohort.status in (CohortStatus.STARTED, CohortStatus.COMPLETED, CohortStatus.CANCELLED):
        raise DomainError(f"cohort {cohort.cohort_id}: a {cohort.status} cohort cannot be rescheduled")
    cohort.field_times["schedule"] = ctx.now
    cohort.start_date = p.start_date
    if p.slots:
        cohort.slots = tuple(WeeklySlot(s.weekday, s.start, s.period) for s in p.slots)
    ctx.schedule(cohort)
    ctx.stamp(cohort)
    for referral in ctx.uow.referrals.where(cohort_id=cohort.cohort_id):
        ctx.recheck_place(referral, f"cohort {cohort.cohort_id} rescheduled to {p.start_date}")
    ctx.dirty_regions.add(cohort.region_code)


def facilitator_registered(ctx: Context, p: i.FacilitatorRegistered) -> None:
    existing = ctx.uow.facilitators.get(p.facilitator_id)
    if existing is not None:
        ctx.require_fresh(existing)
    _known_programmes(ctx, p.programmes)
    facilitator = Facilitator(p.facilitator_id, p.region_code, p.home_pdu, frozenset(p.programmes),
                              frozenset(p.offices), p.weekly_hours,
                              frozenset((w.weekday, w.period) for w in p.availability))
    if existing is not None:
        facilitator.absences = existing.absences
    ctx.uow.facilitators.add(facilitator)
    ctx.stamp(facilitator)
    ctx.dirty_regions.add(p.region_code)
    ctx.arrived(f"facilitator:{p.facilitator_id}")


def facilitator_updated(ctx: Context, p: i.FacilitatorUpdated) -> None:
    facilitator = _facilitator(ctx, p.facilitator_id)
    ctx.require_fresh(facilitator)
    _known_programmes(ctx, p.programmes or ())
    if p.programmes is not None:
        facilitator.programmes = frozenset(p.programmes)
    if p.offices is not None:
        facilitator.offices = frozenset(p.offices)
    if p.weekly_hours is not None:
        facilitator.weekly_hours = p.weekly_hours
    if p.availability is not None:
        facilitator.availability = frozenset((w.weekday, w.period) for w in p.availability)
    ctx.stamp(facilitator)


def facilitator_absence_recorded(ctx: Context, p: i.FacilitatorAbsenceRecorded) -> None:
    if p.to_date < p.from_date:
        raise DomainError(f"facilitator {p.facilitator_id}: absence ends {p.to_date} before it starts {p.from_date}")
    facilitator = _facilitator(ctx, p.facilitator_id)
    facilitator.absences = tuple(sorted(set(facilitator.absences) | {(p.from_date, p.to_date)}))
    ctx.stamp(facilitator)


def facilitator_left(ctx: Context, p: i.FacilitatorLeft) -> None:
    facilitator = _facilitator(ctx, p.facilitator_id)
    facilitator.left_on = p.left_on
    ctx.stamp(facilitator)
    ctx.dirty_regions.add(facilitator.region_code)  # cohort.facilitators_short watches the groups they leave


def attendance_recorded(ctx: Context, p: i.AttendanceRecorded) -> None:
    cohort = _cohort(ctx, p.cohort_id)
    referral = ctx.need(ctx.uow.referrals.get(p.referral_id), f"referral:{p.referral_id}")
    if referral.cohort_id != cohort.cohort_id:
        raise DomainError(f"attendance: referral {p.referral_id} is not a member of cohort {p.cohort_id}")
    if not ctx.uow.record_attendance(Attendance(p.referral_id, p.cohort_id, p.session_number,
                                                p.session_date, p.outcome)):
        return
    attended = p.outcome in ("ATTC", "AFTC")
    if attended and referral.status == S.SCHEDULED:
        ctx.move(referral, S.ON_PROGRAMME, f"attended session {p.session_number} of {cohort.cohort_id}")
    if attended and p.final_session and referral.status == S.ON_PROGRAMME:
        ctx.move(referral, S.PROGRAMME_COMPLETE, f"attended the post-programme review on {p.session_date}")
    cohort.advance(p.session_date)


def _known_programmes(ctx: Context, codes) -> None:
    """Unknown programme codes are rejected (dead letter naming the code) before anything changes."""
    for code in codes:
        ctx.rules.catalogue.get(code)


def _cohort(ctx: Context, cohort_id: str) -> Cohort:
    return ctx.need(ctx.uow.cohorts.get(cohort_id), f"cohort:{cohort_id}")


def _facilitator(ctx: Context, facilitator_id: str) -> Facilitator:
    return ctx.need(ctx.uow.facilitators.get(facilitator_id), f"facilitator:{facilitator_id}")
