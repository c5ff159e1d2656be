"""Dependencies the routes share: the reader, and a region the caller may see."""
from __future__ import annotations

from fastapi import Depends, Request

from api.auth import READERS, Principal, Role, require, visible_region
from api.models import RegionPath
from api.reads import Reader

reader_role = require(*READERS)
actor_role = require(Role.OPS, Role.ADMIN)  # who may act on alerts


def reader(request: Request) -> Reader:
    return request.app.state.reader


def region(region: RegionPath, principal: Principal = Depends(reader_role), read: Reader = Depends(reader)) -> str:
    """The path's region, if it exists and the caller may see it (404 naming those it may see otherwise)."""
    return visible_region(principal, region, read.regions())


def acting_region(region: RegionPath, principal: Principal = Depends(actor_role),
                  read: Reader = Depends(reader)) -> tuple[str, Principal]:
    """The path's region and the caller, who must be allowed to act (OPS, ADMIN) and to see the region."""
    return visible_region(principal, region, read.regions()), principal
