"""A region's open alerts, most severe and most urgent first."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import reader, region
from api.models import Alert, AlertQuery, Page
from api.problems import responses
from api.reads import Reader
from engine.alerts.model import Severity

router = APIRouter(tags=["alerts"])


@router.get("/regions/{region}/alerts", response_model=Page[Alert], responses=responses(401, 403, 404, 422),
            summary="Open alerts of the region, filtered by kind, lowest severity and PDU")
def alerts(query: Annotated[AlertQuery, Query()], region_code: str = Depends(region),
           read: Reader = Depends(reader)) -> Page[Alert]:
    floor = Severity(query.severity).rank
    rows = [r for r in read.open_alerts(region_code, query.kind, query.pdu) if Severity(r["severity"]).rank >= floor]
    items = [Alert(alert_id=r["alert_id"], kind=r["kind"], severity=r["severity"], subject_type=r["subject_type"],
                   subject_id=r["subject_id"], region=r["region_code"], pdu_code=r["pdu_code"],
                   raised_at=r["raised_at"], updated_at=r["updated_at"], act_by=r["act_by"], reason=r["reason"],
                   numbers=r["numbers"] or {}) for r in rows[query.offset:query.offset + query.limit]]
    return Page[Alert](items=items, total=len(rows), limit=query.limit, offset=query.offset)
