"""programmes.delivery.v1: planned cohorts, confirmations, facilitators, attendance."""
from __future__ import annotations

from engine.domain.calendar import WeeklySlot
from engine.domain.errors import DomainError
from engine.domain.model import Cohort, CohortStatus, Facilitator
from engine.domain.statuses import ReferralStatus as S
from engine.events import inbound as i
from engine.handlers.context import Context, Parked, Stale, member_wait
from engine.handlers.status_log import Intent, placed, refold
from engine.handlers.confirmations import add_claims, named, trim_to_maximum
from engine.ports import Attendance


def cohort_planned(ctx: Context, p: i.CohortPlanned) -> None:
    """A cohort as the delivery team defined it; a changed definition of a cohort not yet started is
    applied (and its members re-checked after the event), one that cannot be met is refused."""
    min_size, max_size = sizes(p, ctx.rules.catalogue)
    existing = ctx.uow.cohorts.get(p.cohort_id)
    if existing is not None:
        if ctx.newer_than_event(existing, "definition"):
            raise Stale(f"cohort {p.cohort_id} was defined by a newer message")
        if existing.status in (CohortStatus.STARTED, CohortStatus.COMPLETED, CohortStatus.CANCELLED):
            raise DomainError(f"cohort {p.cohort_id}: a {existing.status} cohort cannot be redefined")
    # A reschedule newer than this definition keeps its start (and its slots, if it moved them): the
    # definition of an older message arriving late never moves the cohort back.
    start_newer = existing is not None and ctx.newer_than_event(existing, "schedule")
    slots_newer = existing is not None and ctx.newer_than_event(existing, "slots")
    slots = existing.slots if slots_newer else tuple(WeeklySlot(s.weekday, s.start, s.period) for s in p.slots)
    start = existing.start_date if start_newer else p.start_date
    cohort = Cohort(p.cohort_id, p.region_code, p.programme_code, p.office_code, p.pdu_code, slots, start, start, 0,
                    p.pathway, p.sex, p.offence_cohort, p.ldc, min_size, max_size)
    ctx.schedule(cohort)  # computes the end date from the real calendar; bad slots are rejected
    if existing is not None:
        if existing.region_code != cohort.region_code:
            raise DomainError(f"cohort {p.cohort_id}: region {p.region_code} differs from {existing.region_code}")
        if _definition(existing) == _definition(cohort):
            return  # the same definition re-sent: nothing changes
        cohort.status, cohort.facilitator_ids, cohort.origin = existing.status, existing.facilitator_ids, existing.origin
        cohort.updated_at, cohort.field_times = existing.updated_at, dict(existing.field_times)
    cohort.field_times["definition"] = ctx.now
    if not start_newer:
        cohort.field_times["schedule"] = ctx.now
    if not slots_newer:
        cohort.field_times["slots"] = ctx.now
    ctx.uow.cohorts.add(cohort)
    ctx.stamp(cohort)
    if existing is not None:
        trim_to_maximum(ctx, cohort)
    ctx.dirty_regions.add(p.region_code)
    ctx.arrived(f"cohort:{p.cohort_id}")


def sizes(p: i.CohortPlanned, catalogue) -> tuple[int, int]:
    """The cohort's minimum and maximum (the programme's filling those left out); refused when they cannot
    be met (the ingest asks this before any handler runs: engine/services/admission.py)."""
    programme = catalogue.get(p.programme_code)
    min_size, max_size = p.min_size or programme.min_size, p.max_size or programme.max_size
    if min_size > max_size:
        raise DomainError(f"cohort {p.cohort_id}: min_size {min_size} is above max_size {max_size}")
    return min_size, max_size


def _definition(c: Cohort) -> tuple:
    return (c.programme_code, c.office_code, c.pdu_code, c.slots, c.start_date, c.pathway, c.sex, c.offence_cohort,
            c.ldc, c.min_size, c.max_size)


def cohort_confirmed(ctx: Context, p: i.CohortConfirmed) -> None:
    """The delivery team's confirmation is a fact: the cohort is confirmed with its facilitators and the
    members it names claim their places (:mod:`engine.handlers.confirmations` decides, after the event,
    which claims hold: every member who may lawfully be there is placed; each one who may not is
    recorded for the ``confirmation.member_refused`` alert, naming the member, the cohort and the rule)."""
    cohort = _cohort(ctx, p.cohort_id)
    # An older confirmation arriving late still names its members, but never puts back facilitators a
    # newer one gave the cohort. The cohort starts when a plan or attendance reaches its (final) start date,
    # not on the confirmation's date: a reschedule may still arrive that was sent before it.
    older = ctx.newer_than_event(cohort, "staff") and bool(cohort.facilitator_ids)
    cohort.confirm(cohort.facilitator_ids if older else (tuple(p.facilitator_ids) or cohort.facilitator_ids))
    if not older:
        cohort.field_times["staff"] = ctx.now
    ctx.stamp(cohort)
    ctx.dirty_regions.add(cohort.region_code)
    add_claims(ctx, cohort, p.members)


def cohort_cancelled(ctx: Context, p: i.CohortCancelled) -> None:
    cohort = _cohort(ctx, p.cohort_id)
    if cohort.status in (CohortStatus.COMPLETED, CohortStatus.CANCELLED):
        return
    cohort.status = CohortStatus.CANCELLED
    reason = f"cohort {cohort.cohort_id} cancelled: {p.reason or 'no reason given'}"
    for referral in ctx.uow.referrals.where(cohort_id=cohort.cohort_id):
        before = referral.status
        ctx.move(referral, S.AWAITING_ALLOCATION, reason)
        placed(ctx, referral, before)
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
    if p.slots and not ctx.newer_than_event(cohort, "slots"):
        cohort.slots = tuple(WeeklySlot(s.weekday, s.start, s.period) for s in p.slots)
        cohort.field_times["slots"] = ctx.now
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
    """A session attended (or missed) on the cohort. The referral must hold a place there; one the delivery
    team named on the cohort whose place does not hold yet waits under ``member:<referral_id>``: the facts
    that make it lawful (its assessment, a correction) may be on another topic and not have arrived yet."""
    cohort = _cohort(ctx, p.cohort_id)
    referral = ctx.need(ctx.uow.referrals.get(p.referral_id), f"referral:{p.referral_id}")
    record = Attendance(p.referral_id, p.cohort_id, p.session_number, p.session_date, p.outcome)
    attended = p.outcome in ("ATTC", "AFTC")
    if referral.cohort_id != cohort.cohort_id:
        left = _left_after(ctx, referral, cohort)
        if left is not None:
            _late_attendance(ctx, p, referral, record, left, attended)
            return
        if cohort.status in (CohortStatus.CONFIRMED, CohortStatus.STARTED) and named(
                ctx.uow, p.referral_id, cohort.region_code, cohort.cohort_id):
            raise Parked(member_wait(p.referral_id))
        raise DomainError(f"attendance: referral {p.referral_id} is not a member of cohort {p.cohort_id}")
    if not ctx.uow.record_attendance(record):
        return
    if attended and referral.status == S.SCHEDULED:
        ctx.move(referral, S.ON_PROGRAMME, f"attended session {p.session_number} of {cohort.cohort_id}")
        placed(ctx, referral, S.SCHEDULED)
    if attended and p.final_session and referral.status == S.ON_PROGRAMME:
        ctx.move(referral, S.PROGRAMME_COMPLETE, f"attended the post-programme review on {p.session_date}")
        placed(ctx, referral, S.ON_PROGRAMME)
    cohort.advance(p.session_date)


def _left_after(ctx: Context, referral, cohort: Cohort):
    """The step (dated after this attendance) by which a referral that had attended the cohort left it: the
    attendance arrived after news dated later (another topic's producer was ahead). None if it never was on it."""
    if not any(a.cohort_id == cohort.cohort_id for a in ctx.uow.attendance_of([referral.referral_id])):
        return None
    return next((h for h in referral.history if h.at > ctx.now and h.from_status == S.ON_PROGRAMME), None)


def _late_attendance(ctx: Context, p: i.AttendanceRecorded, referral, record: Attendance, left,
                     attended: bool) -> None:
    """An attendance dated while the referral was on the programme, arriving after it left: the session is a fact
    and is recorded. An attended post-programme review is folded into the referral's status log at its time
    (engine/handlers/status_log.py): completed, as in event-time order, when the later step allows it; refused,
    naming that step, when the fold may not be trusted (a move no event logged came after it)."""
    if p.final_session and attended:
        intent = Intent(ctx.now, ctx.event_id, "place", S.PROGRAMME_COMPLETE.value,
                        f"attended the post-programme review on {p.session_date}", from_status=S.ON_PROGRAMME.value)
        if refold(ctx, referral, intent) is None:
            raise DomainError(
                f"attendance: referral {p.referral_id} attended the post-programme review of cohort {p.cohort_id} "
                f"on {p.session_date}, but left the programme at {left.at:%Y-%m-%dT%H:%M} ({left.to_status}), "
                f"which came in first; that status stands: correct it in the case system if the programme was "
                f"completed")
    ctx.uow.record_attendance(record)


def _known_programmes(ctx: Context, codes) -> None:
    """Unknown programme codes are rejected (dead letter naming the code) before anything changes."""
    for code in codes:
        ctx.rules.catalogue.get(code)


def _cohort(ctx: Context, cohort_id: str) -> Cohort:
    return ctx.need(ctx.uow.cohorts.get(cohort_id), f"cohort:{cohort_id}")


def _facilitator(ctx: Context, facilitator_id: str) -> Facilitator:
    return ctx.need(ctx.uow.facilitators.get(facilitator_id), f"facilitator:{facilitator_id}")
