"""RFC 9457 problem details: every error the API returns is ``application/problem+json``.

Routes raise :class:`ApiProblem` (or its subclasses); request validation errors become 422 naming each
field and why; anything else that escapes a route is a bug and becomes a 500 problem (logged with its
traceback, never shown to the caller).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://cohortplan.invalid/problems/"  # stable identifiers, not pages


class InvalidParam(BaseModel):
    """One field the request got wrong: where it is (``query.limit``) and why."""

    name: str = Field(max_length=200)
    reason: str = Field(max_length=1000)


class Problem(BaseModel):
    """The RFC 9457 body, with ``invalid_params`` on 422 and ``known`` on a 404 for an unknown code."""

    type: str = Field(max_length=200)
    title: str = Field(max_length=200)
    status: int = Field(ge=400, le=599)
    detail: str = Field(max_length=2000)
    instance: str | None = Field(None, max_length=2000)
    invalid_params: list[InvalidParam] | None = None
    known: list[str] | None = Field(None, description="the values that exist (and this caller may see)")


class ApiProblem(Exception):
    """An error a route answers with; ``slug`` names its ``type``."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail, self.headers, self.extra = detail, headers, extra


class NotFound(ApiProblem):
    status, slug, title = 404, "not-found", "Not found"

    def __init__(self, what: str, value: str, known: Iterable[str] | None = None) -> None:
        known_list = sorted(known) if known is not None else None
        tail = f"; known: {', '.join(known_list) or 'none'}" if known_list is not None else ""
        super().__init__(f"no {what} {value!r}{tail}", known=known_list)


class Unauthorized(ApiProblem):
    status, slug, title = 401, "unauthorized", "Not authenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="cohortplan"'})


class Forbidden(ApiProblem):
    status, slug, title = 403, "forbidden", "Forbidden"


class Conflict(ApiProblem):
    status, slug, title = 409, "conflict", "Conflict"


class Invalid(ApiProblem):
    """A body the document allows but the rules refuse (a snooze date in the past), named like a 422 from
    validation."""

    status, slug, title = 422, "invalid-request", "Invalid request"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid request: {name}: {reason}", invalid_params=[InvalidParam(name=name, reason=reason)])


class Unavailable(ApiProblem):
    status, slug, title = 503, "unavailable", "Service unavailable"


TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 415: "Unsupported media type",
          422: "Invalid request", 500: "Internal server error", 503: "Service unavailable"}


def problem_response(status: int, detail: str, request: Request, slug: str | None = None,
                     title: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = Problem(type=TYPE_BASE + (slug or str(status)), title=title or TITLES.get(status, "Error"),
                   status=status, detail=detail[:2000], instance=str(request.url.path)[:2000], **extra)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE,
                        headers=headers)


def field_name(loc: Sequence[Any]) -> str:
    """``("query", "limit")`` → ``query.limit``."""
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, request, exc.slug, exc.title, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        params = [InvalidParam(name=field_name(e.get("loc", ()))[:200], reason=str(e.get("msg", "invalid"))[:1000])
                  for e in exc.errors()]
        named = "; ".join(f"{p.name}: {p.reason}" for p in params)
        return problem_response(422, f"invalid request: {named}", request, "invalid-request",
                                invalid_params=params)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path!r}"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the methods of the first route matching the path only
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem_response(exc.status_code, detail, request, headers=headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "an internal error occurred; it has been logged", request, "internal-error")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at this path (a path may have a route per method)."""
    from starlette.routing import Match

    def served(routes) -> set[str]:
        methods: set[str] = set()
        for route in routes:
            if hasattr(route, "original_router"):  # an included router: its own routes
                methods |= served(route.original_router.routes)
            elif route.matches({**request.scope, "type": "http", "method": "GET"})[0] != Match.NONE:
                methods |= set(getattr(route, "methods", None) or ())
        return methods
    return sorted(served(request.app.router.routes))


# Declared on every route so the OpenAPI document says what an error looks like.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "description": TITLES.get(status, "Error")} for status in statuses}


def as_problem_media_type(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents every declared response model under the route's media type (application/json); the
    errors are served as application/problem+json, so their schemas move there."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(status)[0] in "45" and "application/json" in content:
                    content[MEDIA_TYPE] = content.pop("application/json")
    return document
