"""Codes on the wire must be known reference data before a handler changes anything.

Decoding bounds every code's shape (:data:`engine.events.envelope.Code`); this checks its value, once per
applied event, over the payload fields that carry one (:data:`CODED_FIELDS`). An unknown code is a
:class:`DomainError`, so the ingest turns it into a dead letter whose reason names the field, the value
and the codes that are known. What "known" means (docs/events.md, "Limits"):

- a programme code is in the engine's programme catalogue (``EngineRules.catalogue``);
- a region, PDU or office code is in a region profile shipped with the engine
  (``engine/domain/data/region_<profile>.json``): a new region is a reviewed data change, like a new
  programme. A PDU or office in a payload that names its ``region_code`` must belong to that region; in a
  payload without one (a partial ``person.updated``, ``facilitator.updated``, a referral's offices) it must
  belong to some shipped region.

An office need not belong to the payload's PDU: a cohort's PDU is the team delivering it, and hubs serve
neighbouring PDUs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache, wraps
from typing import Callable, Iterable, Mapping

from pydantic import BaseModel

from engine.domain.errors import DomainError
from engine.domain.programmes import Catalogue
from engine.domain.regions import known_profiles, load_region
from engine.handlers.context import Context

__all__ = ["CODED_FIELDS", "RegionCodes", "UnknownCode", "check_codes", "check_reference", "checked",
           "shipped_regions"]

REGION, PDU, OFFICE, PROGRAMME = "region", "PDU", "office", "programme"

# Payload field → the kind of code it holds (a list field holds several). Regions come first: they scope
# the PDUs and offices named next to them.
CODED_FIELDS: dict[str, str] = {
    "region_code": REGION,
    "pdu_code": PDU, "home_pdu": PDU,
    "office_code": OFFICE, "offices": OFFICE, "preferred_offices": OFFICE, "cannot_attend_offices": OFFICE,
    "programme_code": PROGRAMME, "programmes": PROGRAMME,
}
SHOWN = 8  # known codes quoted in a reason before it abbreviates


class UnknownCode(DomainError):
    """A code that is not in the reference data; the message names the field, the value and what is known."""

    def __init__(self, field: str, value: str, kind: str, known: Iterable[str], scope: str) -> None:
        self.field, self.value, self.known, self.scope = field, value, tuple(sorted(known)), scope
        listing = ", ".join(self.known[:SHOWN]) or "none"
        if len(self.known) > SHOWN:
            listing += f", … ({len(self.known)} in all)"
        super().__init__(f"{field} {value!r} is not a known {kind} code of {scope}; known: {listing}")


@dataclass(frozen=True)
class RegionCodes:
    pdus: frozenset[str]
    offices: frozenset[str]


@cache
def shipped_regions() -> Mapping[str, RegionCodes]:
    """Region code → its PDU and office codes, over every region profile shipped in engine/domain/data."""
    regions = {}
    for profile in known_profiles():
        region = load_region(profile)
        regions[region.region_code] = RegionCodes(frozenset(p.pdu_code for p in region.pdus),
                                                  frozenset(o.office_code for o in region.offices))
    return regions


@cache
def _any_region() -> RegionCodes:
    regions = shipped_regions().values()
    return RegionCodes(frozenset().union(*(r.pdus for r in regions)),
                       frozenset().union(*(r.offices for r in regions)))


@cache
def _coded_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The model's fields that hold codes, in :data:`CODED_FIELDS` order (regions first)."""
    return tuple(name for name in CODED_FIELDS if name in model.model_fields)


def _known(kind: str, region: str | None, catalogue: Catalogue) -> tuple[Iterable[str], str]:
    if kind == PROGRAMME:
        return catalogue.programmes, f"programme catalogue {catalogue.version}"
    regions = shipped_regions()
    if kind == REGION:
        return regions, "the shipped region profiles"
    codes, scope = (regions[region], f"region {region}") if region else (_any_region(), "any shipped region")
    return (codes.pdus if kind == PDU else codes.offices), scope


def check_codes(payload: BaseModel, catalogue: Catalogue) -> None:
    """Raise :class:`UnknownCode` for the first code in ``payload`` that the reference data does not know."""
    values = payload.__dict__
    region = values.get("region_code")
    for name in _coded_fields(type(payload)):
        value = values[name]
        if value is None:
            continue
        kind = CODED_FIELDS[name]
        known, scope = _known(kind, region, catalogue)
        for index, code in enumerate(value) if isinstance(value, list) else ((None, value),):
            if code not in known:
                raise UnknownCode(name if index is None else f"{name}[{index}]", code, kind, known, scope)


def check_reference(ctx: Context, payload: BaseModel) -> None:
    check_codes(payload, ctx.rules.catalogue)


def checked(handler: Callable[[Context, BaseModel], None]) -> Callable[[Context, BaseModel], None]:
    """``handler`` after the reference check: an unknown code is refused before anything changes."""
    @wraps(handler)
    def run(ctx: Context, payload: BaseModel) -> None:
        if not ctx.codes_checked:
            check_reference(ctx, payload)
        return handler(ctx, payload)
    return run
