"""The fixed world of one run: region geography, venues, catalogue, calendar and horizon."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from engine.calendars import england_and_wales_bank_holidays
from engine.domain.model import Office, Pdu, Region
from engine.domain.programmes import Catalogue, Programme, load_catalogue
from engine.domain.regions import load_group_weekdays, load_region
from simulator.clock import IsHoliday, at
from simulator.params import GeneratorParams, Variant


@dataclass(frozen=True)
class World:
    params: GeneratorParams
    region: Region
    group_weekdays: tuple[int, ...]
    catalogue: Catalogue
    is_holiday: IsHoliday
    mix: tuple[Variant, ...]

    @property
    def code(self) -> str:
        return self.region.region_code

    @property
    def t0(self) -> datetime:
        return at(self.params.start, 0)

    @property
    def end(self) -> datetime:
        """First instant after the horizon: nothing is emitted at or after it."""
        return self.t0 + timedelta(weeks=self.params.weeks)

    @property
    def start(self) -> date:
        return self.params.start

    @property
    def hubs(self) -> tuple[Office, ...]:
        """Delivery hubs: group venues outside the rural PDUs, where planned cohorts run."""
        return tuple(o for o in self.region.hubs if not o.rural)

    def satellites(self, pdu_code: str) -> tuple[Office, ...]:
        return tuple(o for o in self.region.hubs if o.rural and o.pdu_code == pdu_code)

    def pdu(self, pdu_code: str) -> Pdu:
        return next(p for p in self.region.pdus if p.pdu_code == pdu_code)

    def pick_pdu(self, rng: random.Random) -> Pdu:
        pdus = self.region.pdus
        return rng.choices(pdus, weights=[p.demand_weight for p in pdus])[0]

    def programme(self, code: str) -> Programme:
        return self.catalogue.get(code)

    def reachable_offices(self, pdu_code: str) -> list[str]:
        """Group venues someone based in ``pdu_code`` can reach: every hub plus their own satellite."""
        return [o.office_code for o in self.hubs + self.satellites(pdu_code)]

    def local_venue(self, pdu_code: str) -> Office | None:
        """The group venue in a person's own PDU, if there is one (a hub or a satellite)."""
        return next((o for o in self.region.hubs if o.pdu_code == pdu_code), None)

    def mix_programmes(self) -> list[tuple[str, float]]:
        """Programme codes of the mix with their total share, in mix order."""
        shares: dict[str, float] = {}
        for v in self.mix:
            shares[v.programme_code] = shares.get(v.programme_code, 0.0) + v.share
        return list(shares.items())

    @property
    def high_pathway_share(self) -> float:
        return sum(v.share for v in self.mix if v.pathway == "HIGH")


def build_world(params: GeneratorParams) -> World:
    world = World(params, load_region(params.region_profile), load_group_weekdays(params.region_profile),
                  load_catalogue(params.catalogue_version), england_and_wales_bank_holidays(), params.mix)
    _check_mix(world)
    return world


def _check_mix(world: World) -> None:
    """Every variant of the mix must be a cohort the catalogue can run; fail fast if not."""
    for v in world.mix:
        p = world.programme(v.programme_code)
        if v.pathway not in p.pathways or v.offence_cohort not in p.offence_cohorts or not p.allows_ldc(v.ldc):
            raise ValueError(f"programme mix {world.params.programme_mix!r}: {v.label} is not a cohort "
                             f"{p.code} runs (pathways {sorted(p.pathways)}, cohorts {sorted(p.offence_cohorts)},"
                             f" LDC rule {p.ldc_rule})")
    if not world.hubs:
        raise ValueError(f"region {world.code} has no delivery hub (an office with rooms outside rural PDUs)")
