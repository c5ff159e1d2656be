"""Ops staff act on an open alert: acknowledge, assign, snooze, resolve (OPS and ADMIN; the engine's
workflow, engine/alerts/workflow.py, decides what is allowed). The acting user is the token's ``sub``."""
from __future__ import annotations

from datetime import date, datetime, timezone

from fastapi import APIRouter, Depends, Request

from api.access import actionable_alert
from api.auth import Principal
from api.deps import acting_region, reader
from api.models import AcknowledgeBody, AlertDetail, AlertIdPath, AssignBody, ResolveBody, SnoozeBody
from api.problems import Conflict, Forbidden, Invalid, NotFound, responses
from api.reads import Reader
from api.routes.alerts import alert_detail
from engine.alerts import workflow

router = APIRouter(tags=["alerts"])
ERRORS = responses(400, 401, 403, 404, 409, 422)  # 400: a body that is not JSON
GUARD = [Depends(actionable_alert)]  # 403: an alert about a limited-access case the caller may not see


def region_today(read: Reader, region: str) -> date:
    """The date a snooze is judged against: the later of today and the date the region was last planned as
    of (the date its alert sweeps run on)."""
    planned = read.planned_as_of().get(region)
    today = datetime.now(timezone.utc).date()
    return max(today, planned) if planned else today


def act(request: Request, read: Reader, where: tuple[str, Principal], alert_id: str, name: str,
        **values) -> AlertDetail:
    """Apply one action through the engine's unit of work; engine refusals become problems."""
    region_code, principal = where
    try:
        action = workflow.make_action(name=name, actor=principal.subject,
                                      **{k: v for k, v in values.items() if v is not None})
        outcome = workflow.act(request.app.state.engine.database.uow, region_code, alert_id, action,
                               region_today(read, region_code), datetime.now(timezone.utc))
    except workflow.AlertNotFound:
        raise NotFound("open alert", alert_id) from None
    except workflow.InvalidTransition as error:
        raise Conflict(str(error)) from None
    except workflow.InvalidAction as error:
        if error.field == "actor":
            raise Forbidden(f"the token's subject cannot be recorded as who acted: {error.reason}") from None
        raise Invalid(f"body.{error.field}", error.reason) from None
    return alert_detail(outcome.alert, outcome.history)


@router.post("/regions/{region}/alerts/{alert_id}/acknowledge", response_model=AlertDetail, responses=ERRORS,
             dependencies=GUARD,
             summary="Acknowledge an open alert: the sweep stops re-notifying it unless its severity rises")
def acknowledge(alert_id: AlertIdPath, body: AcknowledgeBody, request: Request,
                where: tuple[str, Principal] = Depends(acting_region), read: Reader = Depends(reader)) -> AlertDetail:
    return act(request, read, where, alert_id, "acknowledge", note=body.note)


@router.post("/regions/{region}/alerts/{alert_id}/assign", response_model=AlertDetail, responses=ERRORS,
             dependencies=GUARD,
             summary="Assign an open alert to a user")
def assign(alert_id: AlertIdPath, body: AssignBody, request: Request,
           where: tuple[str, Principal] = Depends(acting_region), read: Reader = Depends(reader)) -> AlertDetail:
    return act(request, read, where, alert_id, "assign", user_id=body.user_id)


@router.post("/regions/{region}/alerts/{alert_id}/snooze", response_model=AlertDetail, responses=ERRORS,
             dependencies=GUARD,
             summary="Snooze an open alert until a date: not re-notified before it unless its severity rises")
def snooze(alert_id: AlertIdPath, body: SnoozeBody, request: Request,
           where: tuple[str, Principal] = Depends(acting_region), read: Reader = Depends(reader)) -> AlertDetail:
    return act(request, read, where, alert_id, "snooze", until=body.until, note=body.note)


@router.post("/regions/{region}/alerts/{alert_id}/resolve", response_model=AlertDetail, responses=ERRORS,
             dependencies=GUARD,
             summary="Resolve an open alert; the next sweep raises it again if its condition still holds")
def resolve(alert_id: AlertIdPath, body: ResolveBody, request: Request,
            where: tuple[str, Principal] = Depends(acting_region), read: Reader = Depends(reader)) -> AlertDetail:
    return act(request, read, where, alert_id, "resolve", note=body.note)
