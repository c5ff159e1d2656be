"""A what-if scenario: changes to a region's capacity and demand, and how the command line spells them."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SYNTHETIC = "WHATIF"  # ids a scenario invents (facilitators, referrals, people) start with this
SLOT_CHOICES = ("any", "team")


class WhatIfError(ValueError):
    """A scenario value that does not fit the region: the message names it and the valid choices."""


@dataclass(frozen=True)
class Scenario:
    """Changes to a region's capacity and demand; the empty scenario is the baseline."""

    add_facilitators: Mapping[str, int] = field(default_factory=dict)      # PDU → facilitators added
    remove_facilitators: Mapping[str, int] = field(default_factory=dict)   # PDU → facilitators removed
    programmes: frozenset[str] | None = None   # added facilitators trained on these (default: the PDU's)
    evening_track: bool = False
    open_venues: Mapping[str, int] = field(default_factory=dict)           # office → group rooms
    demand_factor: float = 1.0
    new_facilitator_slots: str = "any"  # added facilitators work any slot, or "team": the slots their PDU's team covers

    @property
    def empty(self) -> bool:
        return not (self.add_facilitators or self.remove_facilitators or self.evening_track
                    or self.open_venues or self.demand_factor != 1.0)

    def describe(self) -> str:
        parts = [f"+{n} facilitator{'s' * (n != 1)} in {p}" for p, n in sorted(self.add_facilitators.items())]
        parts += [f"-{n} facilitator{'s' * (n != 1)} in {p}" for p, n in sorted(self.remove_facilitators.items())]
        parts += ["evening track"] if self.evening_track else []
        parts += [f"open {o} ({n} room{'s' * (n != 1)})" for o, n in sorted(self.open_venues.items())]
        parts += [f"demand x{self.demand_factor:g}"] if self.demand_factor != 1.0 else []
        return ", ".join(parts) or "no change"


def parse_counts(values: Iterable[str], option: str) -> dict[str, int]:
    """``["RS-P01=2", ...]`` → ``{"RS-P01": 2}``; a malformed value is named with the expected form."""
    out: dict[str, int] = {}
    for raw in values:
        key, sep, number = raw.partition("=")
        key = key.strip()
        try:
            n = int(number)
        except ValueError:
            n = -1
        if not sep or not key or n < 1:
            raise WhatIfError(f"{option} {raw!r} is not PDU=N with N a whole number of at least 1 "
                              f"(e.g. {option} RS-P01=2)")
        out[key] = out.get(key, 0) + n
    return out


def parse_venues(values: Iterable[str]) -> dict[str, int]:
    """``["RS-P02-O1", "RS-P04-O1=2"]`` → office → rooms (1 when not given)."""
    out: dict[str, int] = {}
    for raw in values:
        key, sep, number = raw.partition("=")
        try:
            n = int(number) if sep else 1
        except ValueError:
            n = 0
        if not key.strip() or n < 1:
            raise WhatIfError(f"--open-venue {raw!r} is not OFFICE or OFFICE=ROOMS with ROOMS a whole number "
                              f"of at least 1 (e.g. --open-venue RS-P02-O1=1)")
        out[key.strip()] = n
    return out
