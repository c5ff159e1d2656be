"""One referral (status, history, deadline, latest start, place, explanation) and a person's referrals."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Response

from api.auth import Principal
from api.access import Reading, reading
from api.helper import Computation
from api.read_model import Version
from api.responses import json_of, json_response
from api.models import (CrnPath, IdPath, PersonReferrals, Place, Referral, ReferralSummary, RestrictedPerson,
                        RestrictedReferral, StatusChange)
from api.problems import NotFound, responses
from api.reads import Reader

router = APIRouter(tags=["referrals"])


def _visible_person(read: Reader, principal: Principal, crn: str | None, what: str, value: str) -> dict[str, Any]:
    """The person, if the caller may see their region; otherwise 404 exactly as if they did not exist."""
    person = read.person(crn) if crn else None
    if person is None or not principal.sees_region(person["region"]):
        raise NotFound(what, value)
    return person


def _summary(referral: dict[str, Any]) -> dict[str, Any]:
    allocation = referral.get("allocation")
    return dict(referral_id=referral["referral_id"], crn=referral["crn"], programme_code=referral["programme_code"],
                status=referral["status"], referred_on=referral["referred_on"], deadline=referral["deadline"],
                cohort_id=allocation["cohort_id"] if allocation else None)


@dataclass(frozen=True)
class Found:
    """A referral as everyone may see it (kept in the read model), serialised once: it is shown whole to everyone
    who may see the person (whom it is shown to is decided per request), and crosses from the read helper as it is
    (api/helper.py)."""

    region: str
    crn: str
    body: bytes


@router.get("/referrals/{referral_id}", response_model=Referral | RestrictedReferral,
            responses=responses(401, 403, 404, 422),
            summary="A referral: status and history, deadline, latest start, place and why")
def referral(referral_id: IdPath, r: Reading = Depends(reading)) -> Response:
    """A limited-access case the caller may not see answers "Restricted" with its referral id and crn only."""
    found = _kept_referral(r.read, r.version, referral_id)
    if found is None or not r.principal.sees_region(found.region):
        raise NotFound("referral", referral_id)  # exactly as if it did not exist
    r.audit.record([found.crn], [referral_id])
    if not r.view.sees(found.crn):
        return json_response(RestrictedReferral(referral_id=referral_id, crn=found.crn))
    return json_response(found.body)


def _kept_referral(read: Reader, version: Version, referral_id: str) -> Found | None:
    """The referral's answer. The referrals a region's callers ask for are computed together, in one pass, off the
    requests, and kept while the region's marks are (api/read_model.py): after a change a process asked for 500
    referrals computed each in its request (~15 statements, 5-26 ms), forty threads at once. Until the region's pass
    is in, and for a referral it does not hold (one not asked for before, an unknown id, a person of no region, one
    who moved since), the referral is computed alone in its request and kept under its own key, as before (the
    region learnt from that answer, so finding it costs no statement), and the next pass holds it. A region whose
    marks keep moving while no answer may be served behind them gets few passes: one is asked for only once its
    marks have stayed put for ``WARM_STABLE_S``, and less often while none is served."""
    region, every = read.regions_of_referrals.get(referral_id), None
    if region is not None:
        read.asked.note(region, referral_id)
        every = read.model.peek(version, ("referrals", region), _pass(read, region), region)
        if every is not None and referral_id in every:
            return every[referral_id]
    found = read.model.get(version, ("referral", referral_id), Computation(read, _referral, (referral_id,)),
                           region=_region_of)  # kept while its region's marks are; an unknown id: this version only
    if found is not None and found.region is not None:
        if found.region != region:  # the region learnt from the answer (no statement more), or the person moved
            read.regions_of_referrals[referral_id] = found.region
            read.asked.note(found.region, referral_id)
        read.model.warm(version, ("referrals", found.region), _pass(read, found.region), found.region,
                        missing=every is not None and found.region == region)  # a pass lacking it: held next time
    return found


def _pass(read: Reader, region: str) -> Computation[dict[str, Found]]:
    """The region's pass, of the referral ids asked for by the time it is computed; the region of each is noted."""
    return Computation(read, _region_referrals, lambda: (region, read.asked.of(region)),
                       kept=lambda every: read.regions_of_referrals.update(dict.fromkeys(every, region)))


def _region_of(found: Found | None) -> str | None:
    return found.region if found is not None else None


def _region_referrals(read: Reader, region: str, asked: list[str]) -> dict[str, Found]:
    """The answers of every referral of the people holding those the region was ``asked`` for lately (its pass)."""
    people = read.people_of_referrals(region, asked)
    referrals = [r for person in people for r in person["referrals"]]
    extras = read.referral_extras(region, referrals)
    return {r["referral_id"]: _found(person, r, extras[r["referral_id"]]) for person in people
            for r in person["referrals"]}


def _referral(read: Reader, referral_id: str) -> Found | None:
    person = read.person_of_referral(referral_id)
    if person is None:
        return None
    found = next(r for r in person["referrals"] if r["referral_id"] == referral_id)
    return _found(person, found, read.referral_extras(person["region"], [found])[referral_id])


def _found(person: dict[str, Any], found: dict[str, Any], extras: dict[str, Any]) -> Found:
    allocation, cohort = found.get("allocation"), found.get("cohort")
    place = Place(cohort_id=allocation["cohort_id"], plan_version=allocation["plan_version"],
                  allocated_on=allocation["allocated_on"], reason=allocation["reason"], source=allocation["source"],
                  pinned=allocation["pinned"], cohort_start=cohort and cohort["start_date"],
                  cohort_end=cohort and cohort["end_date"], office_code=cohort and cohort["office_code"]) \
        if allocation else None
    history = [StatusChange(at=h["at"], from_status=h["from_status"], to_status=h["to_status"], reason=h["reason"])
               for h in found["history"]]
    return Found(person["region"], person["crn"], json_of(Referral(
        **_summary(found), region=person["region"], pathway=found["pathway"], risk_band=found["risk_band"],
        ready_from=found["ready_from"], history=history, place=place, **extras)))


@router.get("/people/{crn}/referrals", response_model=PersonReferrals | RestrictedPerson,
            responses=responses(401, 403, 404, 422), summary="A person's referrals, by crn")
def person_referrals(crn: CrnPath, r: Reading = Depends(reading)) -> PersonReferrals | RestrictedPerson:
    """A limited-access case the caller may not see answers "Restricted" with its crn only."""
    person = _visible_person(r.read, r.principal, crn, "person with crn", crn)
    r.audit.record([crn], [found["referral_id"] for found in person["referrals"]])
    if not r.view.sees(crn):
        return RestrictedPerson(crn=crn)
    return PersonReferrals(crn=crn, region=person["region"], pdu_code=person["pdu"],
                           merged_into=person["merged_into"],
                           referrals=[ReferralSummary(**_summary(r)) for r in person["referrals"]])
