"""The programme catalogue: what each accredited programme asks of a cohort.

Programmes are reference data shipped as versioned JSON (``data/programmes_<version>.json``) rather
than code, so a catalogue change is a reviewed data change with its own version, and every plan can
say which catalogue it was built against. Loading validates strictly: a typo in reference data must
fail at start-up, not surface as a wrong deadline months later.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from engine.domain.errors import DomainError, UnknownProgramme

__all__ = [
    "SessionKind", "GapFrom", "Intake", "LdcRule", "SessionTemplate", "Programme", "Catalogue",
    "load_catalogue", "parse_catalogue", "UnknownProgramme",
]


class SessionKind(StrEnum):
    GROUP = "GROUP"
    ONE_TO_ONE = "ONE_TO_ONE"
    THREE_WAY = "THREE_WAY"


class GapFrom(StrEnum):
    """What a minimum gap is measured from: BC reviews count from the last group, not the last 1:1."""

    PREVIOUS_SESSION = "PREVIOUS_SESSION"
    LAST_GROUP_SESSION = "LAST_GROUP_SESSION"


class Intake(StrEnum):
    CLOSED = "CLOSED"    # everyone starts together at session 1
    ROLLING = "ROLLING"  # people join a running group


class LdcRule(StrEnum):
    ANY = "ANY"            # runs LDC and non-LDC cohorts
    LDC_ONLY = "LDC_ONLY"  # only for people with learning disabilities or challenges


SEXES = frozenset({"MALE", "FEMALE"})
OFFENCE_COHORTS = frozenset({"GENERAL_OFFENCE", "SEXUAL_OFFENCE"})
PATHWAYS = frozenset({"HIGH", "MODERATE"})


@dataclass(frozen=True)
class SessionTemplate:
    """``count`` consecutive sessions of one kind; each takes one weekly slot, 1:1s included.

    The minimum gap applies before the first session of the run only.
    """

    kind: SessionKind
    minutes: int
    count: int = 1
    module: str | None = None
    label: str | None = None
    min_gap_weeks_before: int | None = None
    min_gap_from: GapFrom = GapFrom.PREVIOUS_SESSION

    def __post_init__(self) -> None:
        if not (_is_int(self.minutes, 1) and _is_int(self.count, 1)):
            raise DomainError(f"session needs positive whole minutes and count, got {self.minutes!r} x {self.count!r}")
        if self.min_gap_weeks_before is not None and not _is_int(self.min_gap_weeks_before, 0):
            raise DomainError(f"gap before a session must be whole weeks >= 0, got {self.min_gap_weeks_before!r}")

    @property
    def is_group(self) -> bool:
        return self.kind is SessionKind.GROUP

    def expanded(self) -> tuple[SessionTemplate, ...]:
        """One template per session, keeping the gap on the first only."""
        first = replace(self, count=1)
        rest = replace(self, count=1, min_gap_weeks_before=None, min_gap_from=GapFrom.PREVIOUS_SESSION)
        return (first,) + (rest,) * (self.count - 1)


def _is_int(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


@dataclass(frozen=True)
class Programme:
    """A catalogue entry; sizes, staffing and eligibility are what cohorts of it must respect."""

    code: str
    name: str
    sessions: tuple[SessionTemplate, ...]
    cadences: tuple[int, ...]
    min_size: int
    hard_min_size: int
    max_size: int
    facilitators_per_group: int
    facilitators_per_one_to_one: int
    prep_minutes_per_group_session: int
    intake: Intake
    eligible_sexes: frozenset[str]
    ldc_rule: LdcRule
    offence_cohorts: frozenset[str]
    pathways: frozenset[str]
    min_order_months: int | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        _check_programme(self)

    @cached_property
    def sessions_in_order(self) -> tuple[SessionTemplate, ...]:
        """Every session in delivery order (computed once per programme: the calendar of each cohort of a
        report or an API answer reads it)."""
        return tuple(one for template in self.sessions for one in template.expanded())

    @property
    def session_count(self) -> int:
        return sum(t.count for t in self.sessions)

    @property
    def group_session_count(self) -> int:
        return sum(t.count for t in self.sessions if t.is_group)

    def allows_sex(self, sex: str) -> bool:
        return sex in self.eligible_sexes

    def allows_ldc(self, ldc: bool) -> bool:
        return ldc or self.ldc_rule is LdcRule.ANY


def _check_programme(p: Programme) -> None:
    problems = []
    if not p.sessions:
        problems.append("no sessions")
    if not p.cadences or not all(_is_int(c, 1) for c in p.cadences):
        problems.append(f"cadences must be positive sessions per week, got {p.cadences}")
    sizes = (p.hard_min_size, p.min_size, p.max_size)
    if not all(_is_int(n, 1) for n in sizes) or not p.hard_min_size <= p.min_size <= p.max_size:
        problems.append(f"sizes must satisfy 0 < hard_min <= min <= max, got "
                        f"{p.hard_min_size}/{p.min_size}/{p.max_size}")
    problems += _unknown("eligible_sexes", p.eligible_sexes, SEXES)
    problems += _unknown("offence_cohorts", p.offence_cohorts, OFFENCE_COHORTS)
    problems += _unknown("pathways", p.pathways, PATHWAYS)
    if problems:
        raise DomainError(f"programme {p.code}: " + "; ".join(problems))


def _unknown(field: str, values: frozenset[str], allowed: frozenset[str]) -> list[str]:
    bad = sorted(values - allowed)
    empty = [] if values else [f"{field} is empty"]
    return empty + ([f"{field} has unknown values {bad}, allowed {sorted(allowed)}"] if bad else [])


@dataclass(frozen=True)
class Catalogue:
    """Programmes by code, tagged with the reference-data version plans must quote."""

    version: str
    programmes: Mapping[str, Programme]

    def get(self, code: str) -> Programme:
        """The programme for ``code``; unlike ``dict.get`` a miss is an error, never ``None``."""
        try:
            return self.programmes[code]
        except KeyError:
            raise UnknownProgramme(code, self.codes, self.version) from None

    __getitem__ = get

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.programmes)

    def __contains__(self, code: object) -> bool:
        return code in self.programmes

    def __iter__(self) -> Iterator[Programme]:
        return iter(self.programmes.values())

    def __len__(self) -> int:
        return len(self.programmes)


def load_catalogue(version: str = "v1") -> Catalogue:
    """The shipped catalogue ``data/programmes_<version>.json``, parsed once per process."""
    return _load_shipped(version)


@cache
def _load_shipped(version: str) -> Catalogue:
    data = resources.files("engine.domain") / "data"
    name = f"programmes_{version}.json"
    if not (data / name).is_file():
        shipped = sorted(f.name for f in data.iterdir() if f.name.startswith("programmes_"))
        raise DomainError(f"no programme catalogue {version!r}; shipped: {', '.join(shipped) or 'none'}")
    return parse_catalogue(json.loads((data / name).read_text(encoding="utf-8")))


def parse_catalogue(raw: Mapping[str, Any]) -> Catalogue:
    """Build a catalogue from its JSON form, rejecting unknown keys and duplicate codes."""
    _only_keys("catalogue", raw, required={"version", "programmes"}, optional={"source"})
    programmes: dict[str, Programme] = {}
    for entry in raw["programmes"]:
        programme = _parse_programme(entry)
        if programme.code in programmes:
            raise DomainError(f"programme {programme.code} appears twice in catalogue {raw['version']}")
        programmes[programme.code] = programme
    return Catalogue(version=str(raw["version"]), programmes=MappingProxyType(programmes))


_PROGRAMME_REQUIRED = {
    "code", "name", "sessions", "cadences", "min_size", "hard_min_size", "max_size",
    "facilitators_per_group", "facilitators_per_one_to_one", "prep_minutes_per_group_session",
    "intake", "eligible_sexes", "ldc_rule", "offence_cohorts", "pathways",
}
_SESSION_REQUIRED = {"kind", "minutes"}
_SESSION_OPTIONAL = {"count", "module", "label", "min_gap_weeks_before", "min_gap_from"}


def _parse_programme(raw: Mapping[str, Any]) -> Programme:
    code = raw.get("code", "?")
    _only_keys(f"programme {code}", raw, _PROGRAMME_REQUIRED, {"min_order_months", "notes"})
    fields = dict(raw)
    try:
        fields["sessions"] = tuple(_parse_session(code, s) for s in raw["sessions"])
        fields["intake"] = Intake(raw["intake"])
        fields["ldc_rule"] = LdcRule(raw["ldc_rule"])
    except ValueError as exc:
        raise DomainError(f"programme {code}: {exc}") from None
    fields["cadences"] = tuple(raw["cadences"])
    for key in ("eligible_sexes", "offence_cohorts", "pathways"):
        fields[key] = frozenset(raw[key])
    return Programme(**fields)


def _parse_session(code: str, raw: Mapping[str, Any]) -> SessionTemplate:
    _only_keys(f"programme {code} session", raw, _SESSION_REQUIRED, _SESSION_OPTIONAL)
    fields = dict(raw)
    fields["kind"] = SessionKind(raw["kind"])
    fields["min_gap_from"] = GapFrom(raw.get("min_gap_from", GapFrom.PREVIOUS_SESSION))
    return SessionTemplate(**fields)


def _only_keys(where: str, raw: Mapping[str, Any], required: set[str], optional: set[str]) -> None:
    missing = sorted(required - raw.keys())
    unknown = sorted(raw.keys() - required - optional)
    if missing or unknown:
        raise DomainError(f"{where}: missing keys {missing}, unknown keys {unknown}")
