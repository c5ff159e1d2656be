"""Dependencies the routes share: the reader, and a region the caller may see."""
from __future__ import annotations

from fastapi import Depends, Request

from api.auth import READERS, Principal, require, visible_region
from api.models import RegionPath
from api.reads import Reader

reader_role = require(*READERS)


def reader(request: Request) -> Reader:
    return request.app.state.reader


def region(region: RegionPath, principal: Principal = Depends(reader_role), read: Reader = Depends(reader)) -> str:
    """The path's region, if it exists and the caller may see it (404 naming those it may see otherwise)."""
    return visible_region(principal, region, read.regions())
