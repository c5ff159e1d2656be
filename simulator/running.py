"""Cohorts already running at t0, their members from the backlog, and their attendance from t0 on.

Members are backlog cases of the cohort's variant who were on the waiting list at least a week
before it started, can attend its slots and venue, and whose deadline falls after its last
session. From t0 every session gets an attendance record; some members drop out (unacceptable
absences, then a breach or a return to assessment), the rest complete: the last session is
marked ``final_session`` and the requirement is terminated as COMPLETED.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from engine.domain.calendar import ScheduledSession, WeeklySlot, schedule_sessions
from engine.events import inbound as i
from simulator.cases import Case
from simulator.clock import (
    DELIVERY_SOURCE, Emitted, add_working_days, at, between, child, monday_of, office_hours, weighted,
)
from simulator.cohorts import CohortPlan, slot_patterns
from simulator.delivery import Facilitator
from simulator.life import breach, reassess
from simulator.people import Ids
from simulator.params import Variant
from simulator.region import World

BLOCK_OFFSET = timedelta(minutes=50)  # after the backlog replay, before plans published at t0
BLOCK_STEP = timedelta(seconds=1)
RECORDED_AFTER_SESSION = timedelta(minutes=15)
READY_BEFORE_START = timedelta(weeks=1)
EVENING_EVERY = 3  # every third running cohort is an evening group
COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class RunningCohort:
    plan: CohortPlan
    sessions: tuple[ScheduledSession, ...]
    members: tuple[Case, ...]
    facilitator_ids: tuple[str, ...]


def start_running_cohorts(world: World, ids: Ids, rng: random.Random, backlog: list[Case],
                          staff: list[Facilitator]) -> list[RunningCohort]:
    p = world.params
    wanted = round(p.running_cohorts * p.scale)
    common = sorted((v for v in world.mix if v.share >= p.running_cohort_min_share), key=lambda v: -v.share)
    rooms: dict[tuple[str, int, str], int] = {}
    bookings: dict[str, set[tuple[int, str]]] = {f.facilitator_id: set() for f in staff}
    taken: set[str] = set()
    cohorts = []
    for k in range(wanted):
        first = weighted(rng, [(v, v.share) for v in common])
        weeks_ago = between(rng, p.running_cohort_start_weeks)
        size = between(rng, p.running_cohort_size)
        for variant in [first] + [v for v in common if v is not first]:
            cohort = _try(world, ids, k, variant, weeks_ago, size, backlog, taken, rooms, staff, bookings)
            if cohort is not None:
                cohorts.append(cohort)
                break
    return cohorts


def _try(world: World, ids: Ids, k: int, variant: Variant, weeks_ago: int, size: int, backlog: list[Case],
         taken: set[str], rooms: dict, staff: list[Facilitator], bookings: dict) -> RunningCohort | None:
    programme = world.programme(variant.programme_code)
    period = "EVENING" if k % EVENING_EVERY == EVENING_EVERY - 1 else "DAYTIME"
    hub = world.hubs[k % len(world.hubs)]
    patterns = slot_patterns(world, programme, period)
    free = [s for s in patterns[k % len(patterns):] + patterns[:k % len(patterns)]
            if all(rooms.get((hub.office_code, x.weekday, x.start), 0) < hub.rooms for x in s)]
    if not free:
        return None
    slots = free[0]
    start = monday_of(world.start) - timedelta(weeks=weeks_ago) + timedelta(days=slots[0].weekday)
    if start > world.start:
        start -= timedelta(weeks=1)
    sessions = tuple(schedule_sessions(programme, slots, start, world.is_holiday))
    pool = sorted((c for c in backlog if c.referral_id not in taken and _fits(c, variant, hub.office_code, slots,
                                                                               start, sessions[-1].on)),
                  key=lambda c: c.ready_at)
    if len(pool) < programme.min_size:
        return None
    members = tuple(pool[:size])
    facilitators = _facilitators(staff, bookings, programme.code, hub.office_code, slots,
                                 programme.facilitators_per_group)
    for x in slots:
        rooms[(hub.office_code, x.weekday, x.start)] = rooms.get((hub.office_code, x.weekday, x.start), 0) + 1
    taken.update(c.referral_id for c in members)
    plan = CohortPlan(ids.next(f"{world.code}-COH"), variant, "MALE", hub, slots, start)
    return RunningCohort(plan, sessions, members, facilitators)


def _fits(case: Case, variant: Variant, office: str, slots: tuple[WeeklySlot, ...], start: date,
          end: date) -> bool:
    person = case.person
    return (case.variant.key == variant.key and person.sex == "MALE" and case.ready_at is not None
            and case.ready_at.date() <= start - READY_BEFORE_START and case.deadline >= end
            and office not in person.cannot_attend_offices
            and all(person.available_for(s.weekday, str(s.period)) for s in slots))


def _facilitators(staff: list[Facilitator], bookings: dict, code: str, office: str,
                  slots: tuple[WeeklySlot, ...], needed: int) -> tuple[str, ...]:
    """Trained facilitators who reach the venue, preferring those free and available on the slots."""
    wanted = {(s.weekday, s.start) for s in slots}

    def rank(f: Facilitator) -> tuple:
        available = all((s.weekday, str(s.period)) in f.availability for s in slots)
        clash = bool(bookings[f.facilitator_id] & wanted)
        return clash, not available, len(bookings[f.facilitator_id]), f.facilitator_id

    chosen = sorted((f for f in staff if code in f.programmes and office in f.offices), key=rank)[:needed]
    for f in chosen:
        bookings[f.facilitator_id] |= wanted
    return tuple(f.facilitator_id for f in chosen)


def running_events(world: World, ids: Ids, rng: random.Random, cohorts: list[RunningCohort]) -> list[Emitted]:
    """Plan and confirmation of each running cohort at t0, then attendance; member cases get outcomes."""
    events = []
    for n, cohort in enumerate(cohorts):
        moment = world.t0 + BLOCK_OFFSET + 2 * n * BLOCK_STEP
        events.append(cohort.plan.event(world, moment))
        confirmed = i.CohortConfirmed(cohort_id=cohort.plan.cohort_id, facilitator_ids=list(cohort.facilitator_ids),
                                      members=[c.referral_id for c in cohort.members])
        events.append(Emitted(moment + BLOCK_STEP, "cohort.confirmed", world.code, confirmed, DELIVERY_SOURCE))
        for case in cohort.members:
            events += _attend(world, ids, child(rng), cohort, case)
    return events


def _attend(world: World, ids: Ids, rng: random.Random, cohort: RunningCohort, case: Case) -> list[Emitted]:
    p = world.params
    future = [s for s in cohort.sessions if s.on >= world.start]
    room = len(future) - 1 - p.dropout_absences  # the last session a dropout's absences may leave out
    dropout_at = rng.randint(1, room) if room >= 1 and rng.random() < p.dropout_share else None
    events = []
    for n, session in enumerate(future):
        final = session is cohort.sessions[-1]
        if dropout_at is not None and n >= dropout_at + p.dropout_absences:
            break
        if dropout_at is not None and n >= dropout_at:
            outcome = "UAAB"
        elif final or (dropout_at is not None and n == 0):
            outcome = "ATTC"
        else:
            outcome = weighted(rng, p.attendance_outcome_shares)
        events.append(_record(world, cohort, case, session, outcome, final))
    if dropout_at is not None:
        _drop_out(world, ids, rng, case, future[dropout_at + p.dropout_absences - 1].on)
    elif future:
        done = events[-1].at + timedelta(hours=1)
        case.closing = [case.terminate_requirement(done, cohort.sessions[-1].on, COMPLETED)]
    return events


def _record(world: World, cohort: RunningCohort, case: Case, session: ScheduledSession, outcome: str,
            final: bool) -> Emitted:
    hour, minute = (int(x) for x in session.slot.start.split(":"))
    moment = at(session.on, hour, minute) + timedelta(minutes=session.minutes) + RECORDED_AFTER_SESSION
    payload = i.AttendanceRecorded(cohort_id=cohort.plan.cohort_id, referral_id=case.referral_id,
                                   session_number=session.number, session_date=session.on, outcome=outcome,
                                   final_session=final)
    return Emitted(moment, "attendance.recorded", world.code, payload, DELIVERY_SOURCE)


def _drop_out(world: World, ids: Ids, rng: random.Random, case: Case, last_absence: date) -> None:
    """Enforcement (a breach) or a return to assessment, then, unless revoked, a fresh assessment."""
    p = world.params
    if rng.random() < p.dropout_breach_share:
        closing = breach(rng, world, ids, case, last_absence, case.end)
        if closing:
            case.closing = closing
            return
        back = case.events[-1].at
    else:
        acted_on = add_working_days(last_absence, between(rng, p.dropout_action_working_days), world.is_holiday)
        back = office_hours(rng, acted_on)
        case.referral_event("referral.status_changed", i.ReferralStatusChanged(
            referral_id=case.referral_id, crn=case.crn, to_status="AWAITING_ASSESSMENT",
            reason=f"stopped attending: {p.dropout_absences} unacceptable absences"), back)
    reassess(rng, world, case, back)
