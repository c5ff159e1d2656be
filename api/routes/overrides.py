"""Planner overrides: list (every role), add and remove (PLANNER, ADMIN). The engine decides what is allowed
(engine/services/overrides.py): 404 for another region's referral, cohort or override, 409 for an override that
contradicts one in force or would break a rule now, 422 naming the field."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.access import Viewer, may_act_on_referral, viewer
from api.auth import Principal, Role, require, visible_region
from api.deps import reader, region
from api.models import IdPath, Override, OverrideBody, Page, Paging, RegionPath
from api.problems import Conflict, Forbidden, Invalid, NotFound, responses
from api.reads import Reader
from engine.services import overrides as ov

router = APIRouter(tags=["overrides"])
planner_role = require(Role.PLANNER, Role.ADMIN)


def planning_region(region: RegionPath, principal: Principal = Depends(planner_role),
                    read: Reader = Depends(reader)) -> tuple[str, Principal]:
    """The path's region and the caller, who must be allowed to plan (PLANNER, ADMIN) and to see the region."""
    return visible_region(principal, region, read.regions()), principal


def region_date(read: Reader, region: str) -> date:
    """The region's planning date: the date it was last planned as of (today before its first plan). Holds are
    judged against it, as plans are: a hold ends on its day in a replay of history too."""
    return read.planned_as_of().get(region) or datetime.now(timezone.utc).date()


def answer(row: dict, today, aside: dict[str, list[str]]) -> Override:
    return Override(**{k: row[k] for k in ("override_id", "region_code", "kind", "referral_id", "cohort_id", "until",
                                           "reason", "created_by", "created_at", "event_id")},
                    active=bool(ov.active([row], today)), set_aside=aside.get(row["override_id"], []))


def engine_call(request: Request, fn, *args):
    """One engine transaction; its refusals become problems."""
    try:
        return ov.in_transaction(request.app.state.engine.database.uow, fn, *args)
    except ov.NotFound as error:
        raise NotFound(error.what, error.value) from None
    except ov.Conflict as error:
        raise Conflict(str(error)) from None
    except ov.Invalid as error:
        raise Invalid(f"body.{error.field}", error.reason) from None


@router.get("/regions/{region}/overrides", response_model=Page[Override], responses=responses(401, 403, 404, 422),
            summary="The planner overrides in force in a region (removed ones are not listed), oldest first")
def list_overrides(query: Annotated[Paging, Query()], request: Request, region_code: str = Depends(region),
                   read: Reader = Depends(reader)) -> Page[Override]:
    today = region_date(read, region_code)
    with request.app.state.engine.database.uow() as uow:
        rows, aside = uow.overrides(region_code), ov.set_aside(uow, region_code)
    items = [answer(r, today, aside) for r in rows]
    return Page[Override](items=items[query.offset:query.offset + query.limit], total=len(items), limit=query.limit,
                          offset=query.offset)


@router.post("/regions/{region}/overrides", status_code=201, response_model=Override,
             responses=responses(400, 401, 403, 404, 409, 422),
             summary="Add a planner override (keep, never, hold, lock): every plan honours it while it is safe")
def add_override(body: OverrideBody, request: Request, where: tuple[str, Principal] = Depends(planning_region),
                 read: Reader = Depends(reader), view: Viewer = Depends(viewer)) -> Override:
    region_code, principal = where
    may_act_on_referral(read, view, region_code, body.referral_id)
    if not 1 <= len(principal.subject) <= 64 or any(ord(c) < 32 or ord(c) == 127 for c in principal.subject):
        raise Forbidden("the token's subject cannot be recorded as who made the override")
    today = region_date(read, region_code)
    request_ = ov.Request(body.kind, body.reason, body.referral_id, body.cohort_id, body.until)
    row = engine_call(request, ov.add, request.app.state.engine.rules, region_code, request_, principal.subject,
                      today, datetime.now(timezone.utc))
    return answer(row, today, {})


@router.delete("/regions/{region}/overrides/{override_id}", status_code=204, response_class=Response,
               responses=responses(401, 403, 404, 422),
               summary="Remove a planner override: plans no longer honour it (its record stays)")
def remove_override(override_id: IdPath, request: Request, where: tuple[str, Principal] = Depends(planning_region),
                    read: Reader = Depends(reader), view: Viewer = Depends(viewer)) -> Response:
    region_code, principal = where
    with request.app.state.engine.database.uow() as uow:
        row = next((r for r in uow.overrides(region_code) if r["override_id"] == override_id), None)
    may_act_on_referral(read, view, region_code, row and row["referral_id"])
    engine_call(request, ov.remove, region_code, override_id, principal.subject[:64], datetime.now(timezone.utc))
    return Response(status_code=204)
