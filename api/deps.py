"""Dependencies the routes share: the reader, the state version of the request, and a region the caller may see."""
from __future__ import annotations

from fastapi import Depends, Request

from api.auth import READERS, Principal, Role, require, visible_region
from api.models import RegionPath
from api.read_model import Version
from api.reads import Reader

reader_role = require(*READERS)
actor_role = require(Role.OPS, Role.ADMIN)  # who may act on alerts


def reader(request: Request) -> Reader:
    return request.app.state.reader


def state_version(read: Reader = Depends(reader)) -> Version:
    """The engine's state version as this request found it (read once per request): what it may be answered
    from in the read model (api/read_model.py)."""
    return read.version()


def region(region: RegionPath, principal: Principal = Depends(reader_role), read: Reader = Depends(reader),
           version: Version = Depends(state_version)) -> str:
    """The path's region, if it exists and the caller may see it (404 naming those it may see otherwise)."""
    return visible_region(principal, region, read.regions(version))


def acting_region(region: RegionPath, principal: Principal = Depends(actor_role),
                  read: Reader = Depends(reader)) -> tuple[str, Principal]:
    """The path's region and the caller, who must be allowed to act (OPS, ADMIN) and to see the region."""
    return visible_region(principal, region, read.regions()), principal
