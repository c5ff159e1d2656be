"""Probation regions as reference data: PDUs, their demand weights, offices and group rooms.

Regions ship as JSON (``data/region_<profile>.json``) so a synthetic or real region is a reviewed
data change, not code. ``default`` is "Region S", the calibrated synthetic region of
CALIBRATION.md. Loading validates strictly: a typo in reference data must fail at start-up.
"""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Mapping

from engine.domain.errors import DomainError
from engine.domain.model import Office, Pdu, Region

__all__ = ["UnknownRegionProfile", "known_profiles", "load_region", "load_group_weekdays", "parse_region"]

_PREFIX, _SUFFIX = "region_", ".json"
_REGION_KEYS = {"region_code", "pdus"}
_REGION_OPTIONAL = {"description", "group_weekdays"}
_PDU_KEYS, _PDU_OPTIONAL = {"pdu_code", "demand_weight", "offices"}, {"rural"}
_OFFICE_KEYS, _OFFICE_OPTIONAL = {"office_code"}, {"name_code", "rooms", "rural"}
# Group sessions run Monday to Thursday unless a region says otherwise (CALIBRATION.md).
DEFAULT_GROUP_WEEKDAYS = (0, 1, 2, 3)


class UnknownRegionProfile(DomainError, LookupError):
    """A region profile with no shipped ``region_<profile>.json``."""

    def __init__(self, profile: str, known: tuple[str, ...]) -> None:
        self.profile, self.known = profile, known
        super().__init__(f"unknown region profile {profile!r}; known profiles: {', '.join(known) or 'none'}")


def known_profiles() -> tuple[str, ...]:
    """Profiles shipped in ``engine/domain/data`` (``region_<profile>.json``), sorted."""
    data = resources.files("engine.domain") / "data"
    names = (f.name for f in data.iterdir() if f.name.startswith(_PREFIX) and f.name.endswith(_SUFFIX))
    return tuple(sorted(name[len(_PREFIX):-len(_SUFFIX)] for name in names))


def load_region(profile: str = "default") -> Region:
    """The shipped region ``profile``, parsed and validated once per process (regions are frozen)."""
    return _parsed(profile)


def load_group_weekdays(profile: str = "default") -> tuple[int, ...]:
    """Weekdays (0 = Monday) on which the region's venues run groups."""
    days = tuple(_raw(profile).get("group_weekdays", DEFAULT_GROUP_WEEKDAYS))
    if not days or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise DomainError(f"region profile {profile!r}: group_weekdays must be weekdays 0-6, got {list(days)}")
    return tuple(sorted(set(days)))


@cache
def _raw(profile: str) -> Mapping[str, Any]:
    path = resources.files("engine.domain") / "data" / f"{_PREFIX}{profile}{_SUFFIX}"
    if not path.is_file():
        raise UnknownRegionProfile(profile, known_profiles())
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DomainError(f"region profile {profile!r}: bad JSON: {exc}") from None


@cache
def _parsed(profile: str) -> Region:
    return parse_region(_raw(profile))


def parse_region(raw: Mapping[str, Any]) -> Region:
    """Build a :class:`Region` from its JSON form, rejecting unknown keys and duplicate codes."""
    _only_keys("region", raw, _REGION_KEYS, _REGION_OPTIONAL)
    code = str(raw["region_code"])
    pdus = tuple(_parse_pdu(code, p) for p in raw["pdus"])
    if not pdus:
        raise DomainError(f"region {code}: no PDUs")
    _unique(code, "PDU", [p.pdu_code for p in pdus])
    _unique(code, "office", [o.office_code for p in pdus for o in p.offices])
    return Region(region_code=code, pdus=pdus)


def _parse_pdu(region: str, raw: Mapping[str, Any]) -> Pdu:
    code = raw.get("pdu_code", "?")
    _only_keys(f"region {region} PDU {code}", raw, _PDU_KEYS, _PDU_OPTIONAL)
    weight = raw["demand_weight"]
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
        raise DomainError(f"region {region} PDU {code}: demand_weight must be > 0, got {weight!r}")
    rural = bool(raw.get("rural", False))
    offices = tuple(_parse_office(region, code, rural, o) for o in raw["offices"])
    if not offices:
        raise DomainError(f"region {region} PDU {code}: no offices")
    return Pdu(pdu_code=str(code), demand_weight=float(weight), offices=offices)


def _parse_office(region: str, pdu: str, rural: bool, raw: Mapping[str, Any]) -> Office:
    code = raw.get("office_code", "?")
    _only_keys(f"region {region} office {code}", raw, _OFFICE_KEYS, _OFFICE_OPTIONAL)
    rooms = raw.get("rooms", 0)
    if isinstance(rooms, bool) or not isinstance(rooms, int) or rooms < 0:
        raise DomainError(f"region {region} office {code}: rooms must be a whole number >= 0, got {rooms!r}")
    return Office(office_code=str(code), pdu_code=pdu, name_code=str(raw.get("name_code", "")),
                  rooms=rooms, rural=bool(raw.get("rural", rural)))


def _unique(region: str, what: str, codes: list[str]) -> None:
    seen: set[str] = set()
    twice = sorted({c for c in codes if c in seen or seen.add(c)})
    if twice:
        raise DomainError(f"region {region}: {what} codes appear twice: {', '.join(twice)}")


def _only_keys(where: str, raw: Mapping[str, Any], required: set[str], optional: set[str]) -> None:
    if not isinstance(raw, Mapping):
        raise DomainError(f"{where}: expected an object, got {type(raw).__name__}")
    missing = sorted(required - raw.keys())
    unknown = sorted(raw.keys() - required - optional)
    if missing or unknown:
        raise DomainError(f"{where}: missing keys {missing}, unknown keys {unknown}")
