"""Dependencies the routes share: the reader, the state version of the request, and a region the caller may see."""
from __future__ import annotations

from typing import NamedTuple

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from api.auth import READERS, Principal, Role, require, visible_region
from api.models import RegionPath
from api.read_model import Version
from api.reads import Reader
from engine.alerts.model import ALL_REGIONS
from engine.domain.access import LimitedAccess

reader_role = require(*READERS)
actor_role = require(Role.OPS, Role.ADMIN)  # who may act on alerts


async def reader(request: Request) -> Reader:
    return request.app.state.reader


class RequestState(NamedTuple):
    version: Version  # what the request may be answered from in the read model (api/read_model.py)
    access: dict[str, LimitedAccess]  # every limited-access rule, as of the version (read again when they change)
    regions: list[str]  # the known regions at that version


def request_state(read: Reader = Depends(reader)) -> RequestState:  # also api.access.Reading's, in the route's thread
    """The engine's state version and limited-access rules as this request found them (once per request, one
    session), and the regions known at that version (kept in the read model): every database question a read
    route needs before its own, in one thread's turn."""
    version, access = read.version_and_access()
    read.model.observe(version)  # each region's marks as this request found them (api/read_model.py)
    return RequestState(version, access, read.regions(version))


async def region(region: RegionPath, principal: Principal = Depends(reader_role),
                 state: RequestState = Depends(request_state), read: Reader = Depends(reader)) -> str:
    """The path's region, if it exists and the caller may see it (404 naming those it may see otherwise)."""
    known = state.regions if region in state.regions else await run_in_threadpool(read.regions)  # arrived since?
    return visible_region(principal, region, known)


def acting_region(region: RegionPath, principal: Principal = Depends(actor_role),
                  read: Reader = Depends(reader)) -> tuple[str, Principal]:
    """The path's region (``*`` too: the pseudo-region of the alerts about the whole service) and the caller, who
    must be allowed to act (OPS, ADMIN) and to see the region."""
    return visible_region(principal, region, [*read.regions(), ALL_REGIONS]), principal
