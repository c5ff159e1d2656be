"""Facilitators: who is registered at the start, absences, leavers and their replacements, training."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from engine.events import inbound as i
from simulator.clock import (
    DELIVERY_SOURCE, Emitted, at, between, child, happens, monday_of, next_working_day, office_hours,
    poisson, uniform_day,
)
from simulator.region import World

REGISTERED_AT = timedelta(minutes=1)  # after t0: facilitators come before cohorts that name them
BLOCK_STEP = timedelta(seconds=1)
FTE_STEP = 1  # decimals an FTE is rounded to


@dataclass(frozen=True)
class Facilitator:
    facilitator_id: str
    home_pdu: str
    fte: float
    programmes: tuple[str, ...]
    offices: tuple[str, ...]
    availability: tuple[tuple[int, str], ...]

    def weekly_hours(self, per_fte: float) -> float:
        return round(self.fte * per_fte, 1)

    def registered(self, world: World) -> i.FacilitatorRegistered:
        return i.FacilitatorRegistered(
            facilitator_id=self.facilitator_id, region_code=world.code, home_pdu=self.home_pdu,
            programmes=list(self.programmes), offices=list(self.offices),
            weekly_hours=self.weekly_hours(world.params.fte_weekly_hours),
            availability=[i.AvailabilityWindow(weekday=d, period=p) for d, p in self.availability])


def facilitator_events(world: World, rng: random.Random) -> tuple[list[Facilitator], list[Emitted]]:
    """The facilitators registered at t0 and every delivery event about facilitators in the run."""
    staff = _initial_staff(world, rng)
    events = [_event(world, world.t0 + REGISTERED_AT + n * BLOCK_STEP, "facilitator.registered",
                     f.registered(world)) for n, f in enumerate(staff)]
    next_number = len(staff) + 1
    for person in staff:
        life, replacement = _career(world, child(rng), person, next_number)
        events += life
        next_number += replacement
    return staff, events


def _event(world: World, moment: datetime, event_type: str, payload) -> Emitted:
    return Emitted(moment, event_type, world.code, payload, DELIVERY_SOURCE)


def _id(world: World, number: int) -> str:
    return f"{world.code}-F{number:03d}"


def _initial_staff(world: World, rng: random.Random) -> list[Facilitator]:
    staff = [_new_facilitator(world, rng, _id(world, n + 1), fte) for n, fte in enumerate(_ftes(world, rng))]
    return _cover_programmes(world, staff)


def _ftes(world: World, rng: random.Random) -> list[float]:
    """Split ``facilitator_fte × scale`` into people of 0.5-1.0 FTE each."""
    p = world.params
    low, high = p.facilitator_fte_range
    remaining, ftes = round(p.facilitator_fte * p.scale, FTE_STEP), []
    while remaining > 0:
        if remaining <= high:
            fte = remaining
        else:
            fte = round(rng.uniform(low, min(high, remaining - low)), FTE_STEP)
        ftes.append(fte)
        remaining = round(remaining - fte, FTE_STEP)
    return ftes


def _new_facilitator(world: World, rng: random.Random, facilitator_id: str, fte: float) -> Facilitator:
    p = world.params
    pdu = world.pick_pdu(rng).pdu_code
    offered = world.mix_programmes()
    count = min(between(rng, p.facilitator_programmes), len(offered))
    trained: list[str] = []
    while len(trained) < count:
        left = [(code, share) for code, share in offered if code not in trained]
        trained.append(rng.choices([c for c, _ in left], weights=[s for _, s in left])[0])
    order = [code for code, _ in offered]
    days = list(p.facilitator_weekdays)
    if len(days) > 1 and rng.random() < p.facilitator_day_off_share:
        days.remove(rng.choice(days))
    periods = ("DAYTIME", "EVENING") if rng.random() < p.facilitator_evening_share else ("DAYTIME",)
    return Facilitator(facilitator_id, pdu, fte, tuple(sorted(trained, key=order.index)),
                       tuple(world.reachable_offices(pdu)), tuple((d, x) for d in days for x in periods))


def _cover_programmes(world: World, staff: list[Facilitator]) -> list[Facilitator]:
    """Make sure every programme of the mix has enough trained facilitators to run a group."""
    order = [code for code, _ in world.mix_programmes()]
    for code in order:
        need = min(world.params.min_trained_per_programme, len(staff))
        while sum(code in f.programmes for f in staff) < need:
            n, f = min(((n, f) for n, f in enumerate(staff) if code not in f.programmes),
                       key=lambda nf: (len(nf[1].programmes), nf[0]))
            staff[n] = replace(f, programmes=tuple(sorted(f.programmes + (code,), key=order.index)))
    return staff


def _career(world: World, rng: random.Random, person: Facilitator, next_number: int) -> tuple[list[Emitted], int]:
    """Absences, training and leaving of one facilitator; returns events and replacements made."""
    p, years = world.params, world.params.weeks / 52
    last_day = world.end.date() - timedelta(days=1)
    left_on = uniform_day(rng, world.start + timedelta(weeks=4), last_day) \
        if happens(rng, p.facilitator_turnover_per_year, years) else None
    until = left_on or last_day
    absences = poisson(rng, p.facilitator_absences_per_year * years)
    events = [e for e in (_absence(world, rng, person, until) for _ in range(absences)) if e is not None]
    if happens(rng, p.training_updates_per_year, years):
        events += _training(world, rng, person, until)
    if left_on is None:
        return events, 0
    notice = office_hours(rng, max(world.start, left_on - timedelta(weeks=between(rng, p.leaver_notice_weeks))))
    events.append(_event(world, notice, "facilitator.left",
                         i.FacilitatorLeft(facilitator_id=person.facilitator_id, left_on=left_on)))
    starts = next_working_day(left_on + timedelta(weeks=between(rng, p.replacement_weeks)), world.is_holiday)
    successor = replace(person, facilitator_id=_id(world, next_number))
    events.append(_event(world, office_hours(rng, starts), "facilitator.registered", successor.registered(world)))
    return events, 1


def _absence(world: World, rng: random.Random, person: Facilitator, until: date) -> Emitted | None:
    p = world.params
    if rng.random() < p.sickness_share:
        first = next_working_day(uniform_day(rng, world.start, until), world.is_holiday)
        last, recorded = first + timedelta(days=between(rng, p.sickness_days) - 1), at(first, 8)
    else:
        first = monday_of(uniform_day(rng, world.start + timedelta(weeks=1), until))
        last = first + timedelta(weeks=between(rng, p.leave_weeks), days=-3)  # to the Friday
        recorded = office_hours(rng, max(world.start, first - timedelta(weeks=between(rng, p.leave_notice_weeks))))
    if first >= until or first < world.start:
        return None
    recorded = max(recorded, world.t0 + timedelta(hours=8))
    return _event(world, recorded + timedelta(minutes=rng.randrange(60)), "facilitator.absence_recorded",
                  i.FacilitatorAbsenceRecorded(facilitator_id=person.facilitator_id, from_date=first,
                                               to_date=last))


def _training(world: World, rng: random.Random, person: Facilitator, until: date) -> list[Emitted]:
    order = [code for code, _ in world.mix_programmes()]
    untrained = [code for code in order if code not in person.programmes]
    if not untrained:
        return []
    added = rng.choice(untrained)
    programmes = sorted(person.programmes + (added,), key=order.index)
    on = next_working_day(uniform_day(rng, world.start + timedelta(weeks=2), until), world.is_holiday)
    return [_event(world, office_hours(rng, on), "facilitator.updated",
                   i.FacilitatorUpdated(facilitator_id=person.facilitator_id, programmes=programmes))]
