"""Dead letters: rejected input with the reason and where it came from (ADMIN; the raw text is not shown)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import Principal, Role, require
from api.deps import reader
from api.models import DeadLetter, Page, Paging
from api.problems import responses
from api.reads import Reader

router = APIRouter(tags=["dead letters"])


@router.get("/dead-letters", response_model=Page[DeadLetter], responses=responses(401, 403, 422),
            summary="Rejected input, oldest first: reason and source position (file line or partition/offset)")
def dead_letters(query: Annotated[Paging, Query()], _: Principal = Depends(require(Role.ADMIN)),
                 read: Reader = Depends(reader)) -> Page[DeadLetter]:
    total, rows = read.dead_letters(query.limit, query.offset)
    items = [DeadLetter(**{name: r[name] for name in DeadLetter.model_fields}) for r in rows]
    return Page[DeadLetter](items=items, total=total, limit=query.limit, offset=query.offset)
