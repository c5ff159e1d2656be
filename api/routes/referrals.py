"""One referral (status, history, deadline, latest start, place, explanation) and a person's referrals."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from api.auth import Principal
from api.access import Reading, reading
from api.read_model import Version
from api.responses import json_response
from api.models import (CrnPath, IdPath, PersonReferrals, Referral, ReferralSummary, RestrictedPerson,
                        RestrictedReferral)
from api.problems import NotFound, responses
from api.reads import Reader
from api.referral_answers import Found, found_of, region_pass, summary

router = APIRouter(tags=["referrals"])


def _visible_person(read: Reader, principal: Principal, crn: str | None, what: str, value: str) -> dict[str, Any]:
    """The person, if the caller may see their region; otherwise 404 exactly as if they did not exist."""
    person = read.person(crn) if crn else None
    if person is None or not principal.sees_region(person["region"]):
        raise NotFound(what, value)
    return person


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
    region = read.regions_of_referrals.get(referral_id)
    if region is not None:
        read.asked.note(region, referral_id)
        every = read.model.peek(version, ("referrals", region), _pass(read, region), region)
        if every is not None and referral_id in every:
            return every[referral_id]
    found = read.model.get(version, ("referral", referral_id), lambda: _referral(read, referral_id),
                           region=_region_of)  # kept while its region's marks are; an unknown id: this version only
    if found is not None and found.region is not None:
        if found.region != region:  # the region learnt from the answer (no statement more), or the person moved
            read.regions_of_referrals[referral_id] = found.region
            read.asked.note(found.region, referral_id)
        read.model.warm(version, ("referrals", found.region), _pass(read, found.region), found.region)
    return found


def _pass(read: Reader, region: str):
    return lambda: _region_referrals(read, region)


def _region_of(found: Found | None) -> str | None:
    return found.region if found is not None else None


def _region_referrals(read: Reader, region: str) -> dict[str, Found]:
    """The answers of every referral of the people holding those the region was asked for lately (its pass), computed
    in the server's pass process when it has one (api/referral_answers.py)."""
    asked = read.asked.of(region)
    every = read.pass_process(read, region, asked) if read.pass_process else region_pass(read, region, asked)
    read.regions_of_referrals.update(dict.fromkeys(every, region))
    return every


def _referral(read: Reader, referral_id: str) -> Found | None:
    person = read.person_of_referral(referral_id)
    if person is None:
        return None
    found = next(r for r in person["referrals"] if r["referral_id"] == referral_id)
    return found_of(person, found, read.referral_extras(person["region"], [found])[referral_id])


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
                           referrals=[ReferralSummary(**summary(r)) for r in person["referrals"]])
