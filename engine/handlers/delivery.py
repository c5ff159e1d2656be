"""programmes.delivery.v1: planned cohorts, confirmations, facilitators, attendance."""
from __future__ import annotations

from engine.domain.calendar import WeeklySlot
from engine.domain.errors import DomainError
from engine.domain.model import Allocation, Cohort, CohortStatus, Facilitator
from engine.domain.statuses import ReferralStatus as S
from engine.events import inbound as i
from engine.handlers.context import Context
from engine.ports import Attendance


def cohort_planned(ctx: Context, p: i.CohortPlanned) -> None:
    programme = ctx.rules.catalogue.get(p.programme_code)
    existing = ctx.uow.cohorts.get(p.cohort_id)
    if existing is not None:
        ctx.require_fresh(existing)
        return
    cohort = Cohort(p.cohort_id, p.region_code, p.programme_code, p.office_code, p.pdu_code,
                    tuple(WeeklySlot(s.weekday, s.start, s.period) for s in p.slots), p.start_date,
                    p.start_date, 0, p.pathway, p.sex, p.offence_cohort, p.ldc,
                    p.min_size or programme.min_size, p.max_size or programme.max_size)
    ctx.schedule(cohort)  # computes the end date from the real calendar; bad slots are rejected
    ctx.uow.cohorts.add(cohort)
    ctx.stamp(cohort)
    ctx.dirty_regions.add(p.region_code)
    ctx.arrived(f"cohort:{p.cohort_id}")


def cohort_confirmed(ctx: Context, p: i.CohortConfirmed) -> None:
    cohort = _cohort(ctx, p.cohort_id)
    members = [ctx.need(ctx.uow.referrals.get(rid), f"referral:{rid}") for rid in p.members]
    for referral in members:
        if referral.cohort_id not in (None, cohort.cohort_id) or referral.status not in (
                S.AWAITING_ALLOCATION, S.SCHEDULED, S.ON_PROGRAMME):
            raise DomainError(f"cohort {cohort.cohort_id}: referral {referral.referral_id} cannot join "
                              f"({referral.status}, cohort {referral.cohort_id})")
    cohort.confirm(tuple(p.facilitator_ids) or cohort.facilitator_ids)
    cohort.advance(ctx.now.date())
    for referral in members:
        _place(ctx, cohort, referral)
    ctx.stamp(cohort)
    ctx.dirty_regions.add(cohort.region_code)


def _place(ctx: Context, cohort: Cohort, referral) -> None:
    """A member placed by the delivery team: pinned, not the plan's to move."""
    ctx.uow.allocations.add(Allocation(referral.referral_id, cohort.cohort_id, 0, ctx.now.date(),
                                       "placed by the delivery team", source="DELIVERY", pinned=True))
    if referral.status == S.AWAITING_ALLOCATION:
        referral.move_to(S.SCHEDULED, ctx.now, f"placed on cohort {cohort.cohort_id}", ctx.event_id,
                         by_allocation=True)
    referral.cohort_id = cohort.cohort_id
    ctx.stamp(referral)


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
    if cohort.status in (CohortStatus.STARTED, CohortStatus.COMPLETED, CohortStatus.CANCELLED):
        raise DomainError(f"cohort {cohort.cohort_id}: a {cohort.status} cohort cannot be rescheduled")
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
