"""Cohorts the delivery team plans: candidates on the hubs' weekly slots, published ahead of start.

For each variant of the mix there is a daytime track (two slots a week where the programme allows,
else one) and an evening track (one slot). A track starts a cohort every ``planned_every_weeks`` for
a variant with ``planned_reference_share`` of referrals, proportionally more often for busier ones
(within ``planned_every_weeks_range``), rotating and staggered across the hubs; one hub also plans
women's groups. They are only candidates: the engine confirms them when enough people wait. A few
are withdrawn or moved later by the delivery team before they start.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from engine.domain.calendar import WeeklySlot, weekly_patterns
from engine.domain.model import Office
from engine.domain.programmes import Programme
from engine.events import inbound as i
from simulator.clock import DELIVERY_SOURCE, Emitted, at, between
from simulator.params import Variant
from simulator.people import Ids
from simulator.region import World

TRACKS = ("DAYTIME", "EVENING")
PUBLISHED_HOUR = 8
BLOCK_OFFSET = timedelta(hours=1)  # plans already public at t0 come after the t0 backlog
BLOCK_STEP = timedelta(seconds=1)
CHANGE_HOUR = 9
CANCEL_REASONS = ("FACILITATOR_UNAVAILABLE", "ROOM_UNAVAILABLE", "PROGRAMME_REVIEW")


@dataclass(frozen=True)
class CohortPlan:
    cohort_id: str
    variant: Variant
    sex: str
    office: Office
    slots: tuple[WeeklySlot, ...]
    start_date: date

    def planned(self, world: World) -> i.CohortPlanned:
        v = self.variant
        return i.CohortPlanned(
            cohort_id=self.cohort_id, region_code=world.code, programme_code=v.programme_code,
            pathway=v.pathway, office_code=self.office.office_code, pdu_code=self.office.pdu_code,
            sex=self.sex, offence_cohort=v.offence_cohort, ldc=v.ldc,
            slots=[i.SlotPayload(weekday=s.weekday, start=s.start, period=str(s.period)) for s in self.slots],
            start_date=self.start_date)

    def event(self, world: World, moment: datetime) -> Emitted:
        return Emitted(moment, "cohort.planned", world.code, self.planned(world), DELIVERY_SOURCE)


def slot_patterns(world: World, programme: Programme, period: str) -> list[tuple[WeeklySlot, ...]]:
    """Weekly slot sets a track of ``programme`` can take on the region's group days."""
    p = world.params
    starts = p.daytime_starts if period == "DAYTIME" else (p.evening_start,)
    return weekly_patterns(programme, period, world.group_weekdays, starts)


def planned_cohorts(world: World, ids: Ids, rng: random.Random) -> tuple[list[CohortPlan], list[Emitted]]:
    """Every candidate cohort published within the horizon, with the odd cancellation or reschedule."""
    plans: list[tuple[datetime, CohortPlan]] = []
    rotation: dict[tuple[str, str, int], int] = {}
    for number, (variant, sex, hubs, cadence) in enumerate(_tracks_of(world)):
        for t, period in enumerate(TRACKS):
            plans += _track(world, ids, rotation, number, t, variant, sex, hubs, cadence, period)
    events, early = [], 0
    for publish, plan in plans:
        if publish < world.t0 + BLOCK_OFFSET:
            publish, early = world.t0 + BLOCK_OFFSET + early * BLOCK_STEP, early + 1
        events.append(plan.event(world, publish))
        events += _changes(world, rng, plan, publish)
    return [plan for _, plan in plans], events


def _changes(world: World, rng: random.Random, plan: CohortPlan, published: datetime) -> list[Emitted]:
    """The delivery team withdraws a few candidates and moves a few starts, weeks before start."""
    p = world.params
    announced = at(plan.start_date - timedelta(weeks=between(rng, p.planned_change_before_weeks)),
                   CHANGE_HOUR, rng.randrange(60))
    u = rng.random()
    if announced <= published or u >= p.planned_cancel_share + p.planned_reschedule_share:
        return []
    if u < p.planned_cancel_share:
        payload = i.CohortCancelled(cohort_id=plan.cohort_id, reason=rng.choice(CANCEL_REASONS))
        return [Emitted(announced, "cohort.cancelled", world.code, payload, DELIVERY_SOURCE)]
    start = plan.start_date + timedelta(weeks=between(rng, p.planned_reschedule_weeks))
    payload = i.CohortRescheduled(cohort_id=plan.cohort_id, start_date=start)
    return [Emitted(announced, "cohort.rescheduled", world.code, payload, DELIVERY_SOURCE)]


def cadence_weeks(world: World, share: float) -> int:
    """Weeks between starts on one track: proportional to demand, bounded, stretched at small scale."""
    p = world.params
    low, high = p.planned_every_weeks_range
    weeks = p.planned_every_weeks * p.planned_reference_share / share if share > 0 else high
    return max(1, round(min(high, max(low, weeks)) / p.scale))


def _tracks_of(world: World) -> list[tuple[Variant, str, tuple[Office, ...], int]]:
    """(variant, sex, hubs it rotates over, cadence in weeks) for every planned track family."""
    p = world.params
    tracks = [(v, "MALE", world.hubs, cadence_weeks(world, v.share)) for v in world.mix
              if world.programme(v.programme_code).allows_sex("MALE")]
    women = next((v for v in world.mix if v.offence_cohort == "GENERAL_OFFENCE" and not v.ldc
                  and world.programme(v.programme_code).allows_sex("FEMALE")), None)
    if women is not None and p.women_group_sex in ("FEMALE", "MIXED"):
        hub = world.hubs[p.women_group_hub % len(world.hubs)]
        tracks.append((women, p.women_group_sex, (hub,), cadence_weeks(world, women.share * p.female_share)))
    return tracks


def _track(world: World, ids: Ids, rotation: dict, number: int, t: int, variant: Variant, sex: str,
           hubs: tuple[Office, ...], cadence: int, period: str) -> list[tuple[datetime, CohortPlan]]:
    p = world.params
    programme = world.programme(variant.programme_code)
    patterns = slot_patterns(world, programme, period)
    plans, k = [], 0
    week = 1 + (2 * number + 3 * t) % cadence
    while True:
        monday = world.start + timedelta(weeks=week + k * cadence)
        hub = hubs[(number + k + t) % len(hubs)]
        turn = (hub.office_code, period, len(patterns[0]))
        slots = patterns[rotation.get(turn, 0) % len(patterns)]
        start = monday + timedelta(days=slots[0].weekday)
        publish = at(start - timedelta(weeks=p.planned_lead_weeks), PUBLISHED_HOUR, number % 60)
        if publish >= world.end:
            return plans
        rotation[turn] = rotation.get(turn, 0) + 1
        plans.append((publish, CohortPlan(ids.next(f"{world.code}-COH"), variant, sex, hub, slots, start)))
        k += 1
