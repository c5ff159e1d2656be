"""People on probation: identifiers, who they are, where they live and when they can attend."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from engine.events import inbound as i
from simulator.clock import weighted
from simulator.params import GeneratorParams, Variant
from simulator.region import World

CRN_LETTER = "X"
CRN_DIGITS = 6
ID_WIDTH = 6
NON_ASSOCIATION_POOL = 60  # recent people in the same PDU a non-association is drawn from
MAJORITY_GROUP = "WHITE"


class Ids:
    """Unique identifiers: random-looking CRNs and sequential ids like ``REF-000123``."""

    def __init__(self, rng: random.Random) -> None:
        self._rng, self._crns, self._counters = rng, set(), {}

    def crn(self) -> str:
        while True:
            crn = f"{CRN_LETTER}{self._rng.randrange(10 ** CRN_DIGITS):0{CRN_DIGITS}d}"
            if crn not in self._crns:
                self._crns.add(crn)
                return crn

    def next(self, prefix: str) -> str:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}-{self._counters[prefix]:0{ID_WIDTH}d}"


@dataclass(frozen=True)
class Person:
    crn: str
    pdu_code: str
    sex: str
    date_of_birth: date
    ethnicity_group: str
    ldc: bool
    interpreter_needed: bool
    availability: tuple[tuple[int, str], ...]
    preferred_offices: tuple[str, ...] = ()
    cannot_attend_offices: tuple[str, ...] = ()
    non_associations: tuple[str, ...] = ()

    def available_for(self, weekday: int, period: str) -> bool:
        return (weekday, period) in self.availability


def female_probability(world: World, variant: Variant) -> float:
    """Chance a referral to ``variant`` is a woman, so that women make up ``female_share`` overall.

    Women are referred only to general-offence variants of programmes that take women.
    """
    eligible = [v for v in world.mix if _takes_women(world, v)]
    if not _takes_women(world, variant) or not eligible:
        return 0.0
    return min(1.0, world.params.female_share / sum(v.share for v in eligible))


def extra_ldc_probability(world: World, variant: Variant) -> float:
    """Chance of an LDC flag outside LDC cohorts, topping LDC people up to ``ldc_share`` overall.

    Only people on programmes the mix runs no LDC cohort of get it (they are taught in ordinary
    groups); where LDC cohorts already reach the share, nobody else does.
    """
    with_ldc = {v.programme_code for v in world.mix if v.ldc}
    if variant.programme_code in with_ldc:
        return 0.0
    missing = world.params.ldc_share - sum(v.share for v in world.mix if v.ldc)
    others = sum(v.share for v in world.mix if v.programme_code not in with_ldc)
    return max(0.0, min(1.0, missing / others)) if others else 0.0


def _takes_women(world: World, v: Variant) -> bool:
    return v.offence_cohort == "GENERAL_OFFENCE" and world.programme(v.programme_code).allows_sex("FEMALE")


def draw_person(rng: random.Random, world: World, variant: Variant, crn: str, on: date,
                recent: dict[str, list[str]]) -> Person:
    """A new person; ``recent`` (CRNs by PDU, oldest first) supplies non-associations and grows."""
    p = world.params
    sex = "FEMALE" if rng.random() < female_probability(world, variant) else "MALE"
    pdu = world.pick_pdu(rng).pdu_code
    ldc = variant.ldc or rng.random() < extra_ldc_probability(world, variant)
    age = rng.triangular(p.age_years[0], p.age_years[2], p.age_years[1])
    minority = rng.random() < p.minority_share
    person = Person(
        crn=crn, pdu_code=pdu, sex=sex, date_of_birth=on - timedelta(days=int(age * 365.25)),
        ethnicity_group=weighted(rng, p.ethnic_minority_groups) if minority else MAJORITY_GROUP,
        ldc=ldc, interpreter_needed=rng.random() < p.interpreter_share,
        availability=draw_availability(rng, p, sex),
        non_associations=_non_associations(rng, p, recent.setdefault(pdu, [])))
    recent[pdu].append(crn)
    del recent[pdu][:-NON_ASSOCIATION_POOL]
    return replace(person, preferred_offices=_preferred(world, pdu),
                   cannot_attend_offices=_cannot_attend(rng, world, pdu))


def draw_availability(rng: random.Random, p: GeneratorParams, sex: str) -> tuple[tuple[int, str], ...]:
    """Evenings only for people in work, daytime only for carers, otherwise both."""
    daytime_only = p.daytime_only_share_women if sex == "FEMALE" else p.daytime_only_share
    u = rng.random()
    periods = ("DAYTIME",) if u < daytime_only else ("EVENING",) if u < daytime_only + p.evening_share \
        else ("DAYTIME", "EVENING")
    days = list(p.person_weekdays)
    if len(days) > 1 and rng.random() < p.weekday_unavailable_share:
        days.remove(rng.choice(days))
    return tuple((d, period) for d in days for period in periods)


def _non_associations(rng: random.Random, p: GeneratorParams, recent: list[str]) -> tuple[str, ...]:
    if not recent or rng.random() >= p.non_association_share:
        return ()
    return (rng.choice(recent[-NON_ASSOCIATION_POOL:]),)


def _preferred(world: World, pdu_code: str) -> tuple[str, ...]:
    venue = world.local_venue(pdu_code)
    return (venue.office_code,) if venue else ()


def _cannot_attend(rng: random.Random, world: World, pdu_code: str) -> tuple[str, ...]:
    if rng.random() >= world.params.cannot_attend_share:
        return ()
    others = [o.office_code for o in world.hubs if o.pdu_code != pdu_code]
    return (rng.choice(others),) if others else ()


def person_updated(world: World, person: Person) -> i.PersonUpdated:
    return i.PersonUpdated(
        crn=person.crn, region_code=world.code, pdu_code=person.pdu_code, sex=person.sex,
        date_of_birth=person.date_of_birth, ethnicity_group=person.ethnicity_group, ldc=person.ldc,
        interpreter_needed=person.interpreter_needed,
        non_associations=list(person.non_associations) or None)


def availability_updated(person: Person, referral_id: str) -> i.ReferralAvailabilityUpdated:
    return i.ReferralAvailabilityUpdated(
        referral_id=referral_id, crn=person.crn,
        availability=[i.AvailabilityWindow(weekday=d, period=period) for d, period in person.availability],
        preferred_offices=list(person.preferred_offices),
        cannot_attend_offices=list(person.cannot_attend_offices))
