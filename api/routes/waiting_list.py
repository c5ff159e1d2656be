"""A region's waiting list, most urgent first (slack to the latest start), as the weekly report counts it."""
from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.access import Reading, reading
from api.helper import Computation
from api.responses import Serialised, json_of, page_response
from api.models import RegionPath, RestrictedReferral, WaitingEntry, WaitingList, WaitingListQuery
from api.problems import responses
from api.reads import Reader, slack_days
from engine.alerts.settings import AlertThresholds
from engine.reports import sections

router = APIRouter(tags=["waiting list"])


@router.get("/regions/{region}/waiting-list", response_model=WaitingList, responses=responses(401, 403, 404, 422),
            summary="Open referrals without a place, ordered by urgency")
def waiting_list(region: RegionPath, query: Annotated[WaitingListQuery, Query()],
                 r: Reading = Depends(reading)) -> Response:
    """Referrals of the region in ``status`` (default: awaiting allocation) that hold no place, with their
    deadline, latest start and slack in days (from ``as_of``: by default the date the region was last planned
    as of), soonest latest start first; those with no start left first of all. At risk, cannot finish and
    past deadline are the weekly report's (and the deadline alerts') rules. A limited-access case the caller
    may not see keeps its place as a "Restricted" row (referral id and crn only); every page is audited."""
    region_code, read, version = r.region(region), r.read, r.version
    as_of = query.as_of or read.planned_as_of(version).get(region_code) or date.today()
    weeks = at_risk_weeks()
    everyone = read.model.get(version, ("waiting-list", region_code, as_of, query.status),
                              Computation(read, _entries, (region_code, as_of, query.status, weeks)),
                              region=region_code)
    wanted = _wanted(query)
    rows = ([e for e in everyone if all(getattr(e.model, name) == value for name, value in wanted)] if wanted
            else everyone)
    page = rows[query.offset:query.offset + query.limit]
    r.audit.record([e.model.crn for e in page], [e.model.referral_id for e in page])
    items = [e.json if r.view.sees(e.model.crn) else _restricted(e.model) for e in page]
    return page_response(WaitingList(items=[], total=len(rows), limit=query.limit, offset=query.offset,
                                      region=region_code, as_of=as_of, at_risk_weeks=weeks), items)


def _entries(read: Reader, region_code: str, as_of: date, status: str,
             weeks: int) -> tuple[Serialised[WaitingEntry], ...]:
    """The whole waiting list, most urgent first, the same for every caller (kept in the read model)."""
    return tuple(Serialised(WaitingEntry(
        referral_id=f.referral_id, crn=f.crn, programme_code=f.programme_code, pdu_code=f.pdu_code,
        sex=f.sex if f.sex in ("MALE", "FEMALE") else "", ldc=f.ldc, status=f.status, referred_on=f.referred_on,
        deadline=f.deadline, latest_start=f.latest_start, slack_days=slack_days(f, as_of),
        at_risk=sections.at_risk(f, as_of, weeks), cannot_finish=sections.cannot_finish(f, as_of),
        past_deadline=sections.past_deadline(f, as_of)))
        for f in sorted(read.waiting(region_code, as_of, status), key=sections.urgency))


def _restricted(entry: WaitingEntry) -> bytes:
    """The row of a limited-access case the caller may not see: its ids only (made per request)."""
    return json_of(RestrictedReferral(referral_id=entry.referral_id, crn=entry.crn))


def _wanted(query: WaitingListQuery) -> list[tuple[str, object]]:
    """The filters asked for: (field, value) an entry must have."""
    wanted = {"programme_code": query.programme, "pdu_code": query.pdu, "sex": query.sex, "ldc": query.ldc,
              "at_risk": query.at_risk}
    return [(name, value) for name, value in wanted.items() if value is not None]


@cache
def at_risk_weeks() -> int:
    """The deadline.at_risk alert's threshold, as the report's data holds it (settings: read once)."""
    return AlertThresholds().at_risk_weeks
