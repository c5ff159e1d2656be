"""Redrive dead letters (ADMIN): each re-read with today's schemas and applied through the normal idempotent
intake; what is still invalid stays, with the new reason (engine/services/redrive.py)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.auth import Principal, Role, require
from api.job_models import Redrive, RedriveFilter, RedriveItem
from api.problems import NotFound, responses
from engine.services.redrive import Redriven, redrive

router = APIRouter(tags=["dead letters"])
admin = require(Role.ADMIN)
LetterId = Annotated[int, Path(ge=1, le=2**62, description="a dead letter's id")]


def answer(done: Redriven) -> Redrive:
    return Redrive(matched=done.matched, redriven=done.redriven, applied=done.accepted,
                   still_invalid=done.redriven - done.accepted, items=[RedriveItem(**item) for item in done.items])


def run(request: Request, **selection) -> Redriven:
    engine = request.app.state.engine
    return redrive(engine.ingestor, request.app.state.dead_letters, **selection)


@router.post("/dead-letters/{letter_id}/redrive", response_model=Redrive, responses=responses(401, 403, 404, 422),
             summary="Redrive one dead letter: applied, or kept with the reason it is still invalid")
def redrive_one(letter_id: LetterId, request: Request, _: Principal = Depends(admin)) -> Redrive:
    done = run(request, ids=[letter_id])
    if not done.matched:
        raise NotFound("dead letter", str(letter_id))
    return answer(done)


@router.post("/dead-letters/redrive", response_model=Redrive, responses=responses(400, 401, 403, 422),
             summary="Redrive the dead letters (all, or those of an origin or with words in their reason), oldest "
                     "first, at most `limit` per call")
def redrive_many(request: Request, body: RedriveFilter | None = None, _: Principal = Depends(admin)) -> Redrive:
    body = body or RedriveFilter()
    return answer(run(request, origin=body.origin, reason_contains=body.reason_contains, limit=body.limit))
