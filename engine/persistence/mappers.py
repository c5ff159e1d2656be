"""Domain entity ⇄ row dict. JSON columns hold sorted lists so rows compare and diff stably."""
from __future__ import annotations

from dataclasses import fields
from functools import cache
from datetime import date, datetime
from typing import Any, Callable

from engine.domain.calendar import WeeklySlot
from engine.domain.model import (Allocation, Cohort, CohortStatus, Facilitator, LifeStatus, Person,
                                 Referral, Requirement, Sentence, SentenceType)
from engine.domain.statuses import ReferralStatus
from engine.ports import ParkedEvent


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def asdict(entity) -> dict[str, Any]:
    """Shallow field dict: values are immutable or rebuilt below, so no deep copy is needed."""
    return {name: getattr(entity, name) for name in _names(type(entity))}


def _pairs(values) -> list:
    return sorted([int(w), str(p)] for w, p in values)



def _date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def person_to_row(p: Person) -> dict[str, Any]:
    row = asdict(p)
    row.update(availability=_pairs(p.availability), preferred_offices=sorted(p.preferred_offices),
               cannot_attend_offices=sorted(p.cannot_attend_offices),
               non_associations=sorted(p.non_associations), field_times=_times_out(p.field_times))
    return row


def person_from_row(r: dict[str, Any]) -> Person:
    return Person(**{**r, "availability": frozenset((w, p) for w, p in r["availability"]),
                     "preferred_offices": frozenset(r["preferred_offices"]),
                     "cannot_attend_offices": frozenset(r["cannot_attend_offices"]),
                     "non_associations": frozenset(r["non_associations"]),
                     "field_times": _times_in(r.get("field_times"))})


def sentence_to_row(s: Sentence) -> dict[str, Any]:
    return {**asdict(s), "sentence_type": str(s.sentence_type), "status": str(s.status)}


def sentence_from_row(r: dict[str, Any]) -> Sentence:
    return Sentence(**{**r, "sentence_type": SentenceType(r["sentence_type"]),
                       "status": LifeStatus(r["status"])})


def requirement_to_row(q: Requirement) -> dict[str, Any]:
    return {**asdict(q), "status": str(q.status)}


def requirement_from_row(r: dict[str, Any]) -> Requirement:
    return Requirement(**{**r, "status": LifeStatus(r["status"])})


def referral_to_row(f: Referral) -> dict[str, Any]:
    row = asdict(f)
    del row["history"]
    row["status"] = str(f.status)
    return row


def referral_from_row(r: dict[str, Any]) -> Referral:
    return Referral(**{**r, "status": ReferralStatus(r["status"])})


def cohort_to_row(c: Cohort) -> dict[str, Any]:
    row = asdict(c)
    row.update(slots=[[s.weekday, s.start, s.period] for s in c.slots],
               facilitator_ids=list(c.facilitator_ids), status=str(c.status), field_times=_times_out(c.field_times))
    return row


def cohort_from_row(r: dict[str, Any]) -> Cohort:
    return Cohort(**{**r, "slots": tuple(WeeklySlot(w, s, p) for w, s, p in r["slots"]),
                     "facilitator_ids": tuple(r["facilitator_ids"]), "status": CohortStatus(r["status"]),
                     "field_times": _times_in(r.get("field_times"))})


def _times_out(times: dict) -> dict[str, str]:
    return {name: at.isoformat() for name, at in sorted(times.items())}


def _times_in(stored: dict | None) -> dict:
    return {name: datetime.fromisoformat(at) for name, at in (stored or {}).items()}


def facilitator_to_row(f: Facilitator) -> dict[str, Any]:
    row = asdict(f)
    row.update(programmes=sorted(f.programmes), offices=sorted(f.offices),
               availability=_pairs(f.availability),
               absences=sorted([a.isoformat(), b.isoformat()] for a, b in f.absences))
    return row


def facilitator_from_row(r: dict[str, Any]) -> Facilitator:
    return Facilitator(**{**r, "programmes": frozenset(r["programmes"]), "offices": frozenset(r["offices"]),
                          "availability": frozenset((w, p) for w, p in r["availability"]),
                          "absences": tuple((_date(a), _date(b)) for a, b in r["absences"])})


def allocation_to_row(a: Allocation) -> dict[str, Any]:
    return asdict(a)


def allocation_from_row(r: dict[str, Any]) -> Allocation:
    return Allocation(**r)


Mapper = tuple[Callable[[Any], dict[str, Any]], Callable[[dict[str, Any]], Any]]


def parked_to_row(e: ParkedEvent) -> dict[str, Any]:
    return {**asdict(e), "parked_at": e.parked_at or e.occurred_at}


def parked_from_row(r: dict[str, Any]) -> ParkedEvent:
    return ParkedEvent(**{name: r[name] for name in _names(ParkedEvent)})
