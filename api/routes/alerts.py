"""A region's open alerts, most severe and most urgent first, and one alert with what people did to it."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.access import Audit, Reading, alert_person, reading
from api.helper import Computation
from api.responses import json_of, page_response
from api.models import Alert, AlertAction, AlertDetail, AlertIdPath, AlertQuery, Page, RegionPath, RestrictedAlert
from api.problems import NotFound, responses
from api.reads import Reader
from engine.alerts.model import ALL_REGIONS, Severity
from engine.alerts.states import state_of

router = APIRouter(tags=["alerts"])


def alert_fields(row: dict[str, Any]) -> dict[str, Any]:
    """An open-alert row as the API shows it."""
    return dict(alert_id=row["alert_id"], kind=row["kind"], severity=row["severity"],
                subject_type=row["subject_type"], subject_id=row["subject_id"], region=row["region_code"],
                pdu_code=row["pdu_code"], raised_at=row["raised_at"], updated_at=row["updated_at"],
                act_by=row["act_by"], reason=row["reason"], numbers=row["numbers"] or {},
                workflow_state=state_of(row), assigned_to=row.get("assigned_to"),
                snoozed_until=row.get("snoozed_until"))


def alert_detail(row: dict[str, Any], actions: list[dict[str, Any]]) -> AlertDetail:
    history = [AlertAction(action=a["action"], actor=a["actor"], at=a["at"], note=a["note"],
                           assigned_to=a["assigned_to"], snoozed_until=a["snoozed_until"], event_id=a["event_id"])
               for a in actions]
    return AlertDetail(**alert_fields(row), history=history)


@router.get("/regions/{region}/alerts", response_model=Page[Alert | RestrictedAlert],
            responses=responses(401, 403, 404, 422),
            summary="Open alerts of the region, filtered by kind, lowest severity, PDU and workflow state")
def alerts(region: RegionPath, query: Annotated[AlertQuery, Query()], r: Reading = Depends(reading)) -> Response:
    """An alert about a limited-access case the caller may not see is "Restricted": its id only."""
    region_code, read = r.region(region, ALL_REGIONS), r.read
    floor = Severity(query.severity).rank
    kinds, states = set(query.kind), set(query.state)
    everyone = read.model.get(r.version, ("alerts", region_code), Computation(read, _listed, (region_code,)),
                              region=region_code)  # "*" (every region's alerts): kept for its exact version only
    rows = [a for a in everyone if (not kinds or a.kind in kinds) and (query.pdu is None or a.pdu_code == query.pdu)
            and a.rank >= floor and (not states or a.state in states)]
    page = rows[query.offset:query.offset + query.limit]
    r.audit.record([a.crn for a in page], [a.referral_id for a in page])
    items = [a.json if r.view.sees(a.crn) else json_of(a.restricted) for a in page]
    return page_response(Page[Alert | RestrictedAlert](items=[], total=len(rows), limit=query.limit,
                                                       offset=query.offset), items)


class Listed:
    """An open alert as the list shows it (kept in the read model): what the filters compare, and its JSON for
    everyone (made the first time a page shows it, api/responses.py; no lock: two threads may both make it, the same
    bytes either way) or its model for whoever may not see its person."""

    __slots__ = ("row", "kind", "pdu_code", "rank", "state", "crn", "referral_id", "_json")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row, self.kind, self.pdu_code = row, row["kind"], row["pdu_code"]
        self.rank, self.state = Severity(row["severity"]).rank, state_of(row)
        self.crn, self.referral_id = alert_person(row)
        self._json: bytes | None = None

    @property
    def json(self) -> bytes:
        if self._json is None:
            self._json = json_of(Alert(**alert_fields(self.row)))
        return self._json

    def __getstate__(self) -> tuple[dict[str, Any], bytes]:
        return self.row, self.json  # what comes from the read helper carries its JSON (api/helper.py)

    def __setstate__(self, state: tuple[dict[str, Any], bytes]) -> None:
        self.__init__(state[0])
        self._json = state[1]

    @property
    def restricted(self) -> RestrictedAlert:
        return restricted(self.row)


def _listed(read: Reader, region_code: str) -> tuple[Listed, ...]:
    """Every open alert of the region, most severe and most urgent first (kept in the read model)."""
    return tuple(Listed(r) for r in read.open_alerts(region_code, None, None))


@router.get("/regions/{region}/alerts/{alert_id}", response_model=AlertDetail | RestrictedAlert,
            responses=responses(401, 403, 404, 422), summary="One open alert with its workflow history")
def alert(region: RegionPath, alert_id: AlertIdPath, r: Reading = Depends(reading)) -> AlertDetail | RestrictedAlert:
    """An alert about a limited-access case the caller may not see is "Restricted": its id only."""
    found = r.read.alert(r.region(region, ALL_REGIONS), alert_id)
    if found is None:
        raise NotFound("open alert", alert_id)
    _audit(r.audit, [found[0]])
    return alert_detail(*found) if r.view.sees(alert_person(found[0])[0]) else restricted(found[0])


def restricted(row: dict[str, Any]) -> RestrictedAlert:
    return RestrictedAlert(alert_id=row["alert_id"], region=row["region_code"])


def _audit(audit: Audit, rows: list[dict[str, Any]]) -> None:
    people = [alert_person(r) for r in rows]
    audit.record([crn for crn, _ in people], [rid for _, rid in people])
