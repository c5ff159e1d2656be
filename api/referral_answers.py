"""A referral's answer as everyone may see it, and a region's referrals computed together (its pass).

A region's pass is computed in the server's read process when it has one (api/read_process.py): it is the costliest
answer the API keeps (230-380 ms of a server process on PostgreSQL with a worker writing alongside)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from api.models import Place, Referral, StatusChange

if TYPE_CHECKING:
    from api.reads import Reader


class Found(NamedTuple):
    """A referral's answer as everyone who may see its person is shown it (kept in the read model), serialised
    once; whom it is shown to is decided per request."""

    region: str
    crn: str
    body: bytes


def summary(referral: dict[str, Any]) -> dict[str, Any]:
    """A referral's fields shown in a person's list of referrals (and at the head of its own answer)."""
    allocation = referral.get("allocation")
    return dict(referral_id=referral["referral_id"], crn=referral["crn"], programme_code=referral["programme_code"],
                status=referral["status"], referred_on=referral["referred_on"], deadline=referral["deadline"],
                cohort_id=allocation["cohort_id"] if allocation else None)


def found_of(person: dict[str, Any], found: dict[str, Any], extras: dict[str, Any]) -> Found:
    """The answer of one of ``person``'s referrals (``found``, as :meth:`engine.persistence.queries.Queries.person`
    holds it), with its latest starts and explanation (``extras``: :meth:`api.reads.Reader.referral_extras`)."""
    allocation, cohort = found.get("allocation"), found.get("cohort")
    place = Place(cohort_id=allocation["cohort_id"], plan_version=allocation["plan_version"],
                  allocated_on=allocation["allocated_on"], reason=allocation["reason"], source=allocation["source"],
                  pinned=allocation["pinned"], cohort_start=cohort and cohort["start_date"],
                  cohort_end=cohort and cohort["end_date"], office_code=cohort and cohort["office_code"]) \
        if allocation else None
    history = [StatusChange(at=h["at"], from_status=h["from_status"], to_status=h["to_status"], reason=h["reason"])
               for h in found["history"]]
    answer = Referral(**summary(found), region=person["region"], pathway=found["pathway"],
                      risk_band=found["risk_band"], ready_from=found["ready_from"], history=history, place=place,
                      **extras)
    return Found(person["region"], person["crn"], answer.model_dump_json().encode())


def region_pass(read: Reader, region: str, referral_ids: list[str]) -> dict[str, Found]:
    """The answers of every referral of the region's people holding any of ``referral_ids``, by referral id."""
    people = read.people_of_referrals(region, referral_ids)
    referrals = [r for person in people for r in person["referrals"]]
    extras = read.referral_extras(region, referrals)
    return {r["referral_id"]: found_of(person, r, extras[r["referral_id"]]) for person in people
            for r in person["referrals"]}
