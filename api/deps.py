"""Dependencies the routes share: the reader, the state version of the request, and a region the caller may see."""
from __future__ import annotations

from typing import NamedTuple

from fastapi import Depends, Request

from api.auth import READERS, Principal, Role, require, visible_region
from api.models import RegionPath
from api.read_model import Version
from api.reads import Reader
from engine.domain.access import LimitedAccess

reader_role = require(*READERS)
actor_role = require(Role.OPS, Role.ADMIN)  # who may act on alerts


async def reader(request: Request) -> Reader:
    return request.app.state.reader


class RequestState(NamedTuple):
    version: Version  # what the request may be answered from in the read model (api/read_model.py)
    access: dict[str, LimitedAccess]  # every limited-access rule, read for this request (never kept)


def request_state(read: Reader = Depends(reader)) -> RequestState:
    """The engine's state version and limited-access rules as this request found them (once per request, one
    session)."""
    return RequestState(*read.version_and_access())


async def state_version(state: RequestState = Depends(request_state)) -> Version:
    return state.version


def region(region: RegionPath, principal: Principal = Depends(reader_role), read: Reader = Depends(reader),
           version: Version = Depends(state_version)) -> str:
    """The path's region, if it exists and the caller may see it (404 naming those it may see otherwise)."""
    return visible_region(principal, region, read.regions(version))


def acting_region(region: RegionPath, principal: Principal = Depends(actor_role),
                  read: Reader = Depends(reader)) -> tuple[str, Principal]:
    """The path's region and the caller, who must be allowed to act (OPS, ADMIN) and to see the region."""
    return visible_region(principal, region, read.regions()), principal
