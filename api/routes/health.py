"""Liveness and readiness (no token needed: probes and load balancers call them)."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends

from api.deps import reader
from api.models import Health, Ready
from api.problems import Unavailable, responses
from api.reads import Reader

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
def health() -> Health:
    return Health(status="ok")


@router.get("/health/ready", response_model=Ready, responses=responses(503),
            summary="Readiness: the database can be reached")
def ready(read: Reader = Depends(reader)) -> Ready:
    try:
        read.ping()
    except Exception as exc:  # any failure to reach the store means not ready; the reason is logged
        log.warning("readiness check failed: %s", exc)
        raise Unavailable("the database cannot be reached") from None
    return Ready(status="ready", database="reachable")
