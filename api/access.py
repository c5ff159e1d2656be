"""Person-level access in the API: limited-access cases shown as "Restricted", and the audit of reads.

- :class:`Viewer`: whom the caller (the token's ``sub``) may see, by the stored limited-access rules
  (engine/domain/access.py). A route shows a case the caller may not see by its identifiers only (crn and
  referral or alert id: what the case system's own lists keep), and refuses to act on it (403).
- :class:`Audit`: every answer holding person-level data is recorded once, after it is built: who (``sub``),
  what (the route template, its path ids, the crns and referral ids in the answer), when. One insert per
  request, in its own transaction; a read that cannot be audited is not answered.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from api.auth import READERS, Principal, authenticated, bearer, holding, verified, visible_region
from api.deps import RequestState, acting_region, reader, request_state
from api.read_model import Version
from api.models import AlertIdPath
from api.problems import Forbidden
from api.reads import Reader
from engine.domain.access import LimitedAccess, visible_to

ACTOR_MAX = 255  # the audit's actor column


class Viewer:
    """The caller and the limited-access rules that concern them."""

    def __init__(self, user: str, rules: dict[str, LimitedAccess]) -> None:
        self.user, self.rules = user, rules

    def sees(self, crn: str | None) -> bool:
        return visible_to(self.user, self.rules, crn)

    def may_act_on(self, crn: str | None, what: str) -> None:
        """403 for a case the caller may not see (a problem naming no detail of it)."""
        if not self.sees(crn):
            raise Forbidden(f"{what} belongs to a limited-access case this user may not see or act on")


async def viewer(principal: Principal = Depends(authenticated), state: RequestState = Depends(request_state)) -> Viewer:
    """Every stored rule as of the request's state version (limited-access cases are few)."""
    return Viewer(principal.subject, state.access)


class Audit:
    """Records the person-level data one answer held (call :meth:`record` once, with what it showed)."""

    def __init__(self, request: Request, principal: Principal, read: Reader) -> None:
        self.request, self.principal, self.read = request, principal, read

    def record(self, crns: Iterable[str | None] = (), referral_ids: Iterable[str | None] = ()) -> None:
        route = getattr(self.request.scope.get("route"), "path", self.request.url.path)
        self.read.record_read(dict(
            at=datetime.now(timezone.utc), actor=self.principal.subject[:ACTOR_MAX],
            route=f"{self.request.method} {route}", params=dict(self.request.path_params),
            crns=_distinct(crns), referral_ids=_distinct(referral_ids)))


async def audited(request: Request, principal: Principal = Depends(authenticated),
                  read: Reader = Depends(reader)) -> Audit:
    return Audit(request, principal, read)


class Reading:
    """A read route's request in one dependency (:func:`reading`): the caller, authenticated and holding a reader's
    role, and the reader. The state the request is answered from (:func:`~api.deps.request_state`), whom the caller
    may see and the audit are asked for in the route's own thread, the first time the route uses them.

    One dependency instead of six: FastAPI resolves every dependency of every request anew (17 resolutions for a
    referral before), and the state was read in a thread of its own before the route's (BENCHMARKS.md, issue 15,
    session 9). Its parts are made on first use by the one thread of the request's route, so they take no lock
    (Python 3.11's ``functools.cached_property`` takes one lock per property for every instance: it queued every
    request's state read behind the others', measured).
    """

    def __init__(self, request: Request, principal: Principal, read: Reader) -> None:
        self.request, self.principal, self.read = request, principal, read
        self._state: RequestState | None = None
        self._view: Viewer | None = None
        self._audit: Audit | None = None

    @property
    def state(self) -> RequestState:
        if self._state is None:
            self._state = request_state(self.read)
        return self._state

    @property
    def version(self) -> Version:
        return self.state.version

    @property
    def view(self) -> Viewer:
        if self._view is None:
            self._view = Viewer(self.principal.subject, self.state.access)
        return self._view

    @property
    def audit(self) -> Audit:
        if self._audit is None:
            self._audit = Audit(self.request, self.principal, self.read)
        return self._audit

    def region(self, code: str, *more: str) -> str:
        """``code`` if the region exists (or is one of ``more``) and the caller may see it; 404 naming those it may
        see otherwise."""
        known = self.state.regions if code in more else self.read.region_list(code, self.state.regions)
        return visible_region(self.principal, code, [*known, *more])


async def reading(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Reading:
    """The :class:`Reading` of a caller holding a reader's role (401, 403 otherwise)."""
    return Reading(request, holding(await verified(request, credentials), READERS), request.app.state.reader)


def _distinct(values: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def alert_person(row: dict[str, Any]) -> tuple[str | None, str | None]:
    """The crn and referral id an alert is about, when it is about a person (its subject a referral, its
    message key the crn; a refused cohort member's subject is ``cohort/referral``)."""
    if row["subject_type"] != "referral":
        return None, None
    return row.get("message_key"), row["subject_id"].rpartition("/")[2]


def actionable_alert(alert_id: AlertIdPath, where: tuple[str, Principal] = Depends(acting_region),
                     read: Reader = Depends(reader), view: Viewer = Depends(viewer)) -> None:
    """A dependency of the alert actions: 403 for an alert about a case the caller may not see (an unknown
    alert is left to the action's own 404)."""
    found = read.alert(where[0], alert_id)
    if found is not None:
        view.may_act_on(alert_person(found[0])[0], f"alert {alert_id}")


def may_act_on_referral(read: Reader, view: Viewer, region_code: str, referral_id: str | None) -> None:
    """403 for acting on a referral of a case the caller may not see — only for a referral of ``region_code``
    (anything else is left to the action's own 404, as if it did not exist)."""
    crn = read.crn_of(referral_id) if referral_id else None
    person = read.person(crn) if crn else None
    if person is not None and person["region"] == region_code:
        view.may_act_on(crn, f"referral {referral_id}")
