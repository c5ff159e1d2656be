"""Subject access (ADMIN): everything held on a crn as one JSON document."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from api.access import Audit, Viewer, audited, viewer
from api.access_models import SubjectAccess
from api.auth import Principal, Role, require
from api.deps import reader
from api.models import CrnPath
from api.problems import NotFound, responses
from api.reads import Reader

router = APIRouter(tags=["referrals"])
admin = require(Role.ADMIN)


@router.get("/people/{crn}/subject-access", response_model=SubjectAccess, responses=responses(401, 403, 404, 422),
            summary="Everything held on a person (ADMIN): events, statuses, places, alerts, overrides, reads")
def subject_access(crn: CrnPath, principal: Principal = Depends(admin), read: Reader = Depends(reader),
                   view: Viewer = Depends(viewer), audit: Audit = Depends(audited)) -> SubjectAccess:
    """The person, their limited-access rule, sentences, requirements, referrals (history, attendance), places,
    the inbound events and outbound messages that name them, their alerts and what people did to them,
    planner overrides and the audited reads of their data. 404 for a crn unknown or of another region; 403
    for a limited-access case the caller may not see. The export itself is audited."""
    person = read.person(crn)
    if person is None or not principal.sees_region(person["region"]):
        raise NotFound("person with crn", crn)
    view.may_act_on(crn, f"person {crn}")
    document = read.subject_access(crn)
    audit.record([crn, *document["merged_crns"]], [r["referral_id"] for r in document["referrals"]])
    return SubjectAccess(**document)
