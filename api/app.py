"""The app factory: ``create_app(engine, verifier)`` — the engine's database and rules, and who may call."""
from __future__ import annotations

from fastapi import FastAPI

from api import metrics, problems
from api.auth import TokenVerifier
from api.reads import Reader
from api.routes import ROUTERS
from engine.bootstrap import Engine

DESCRIPTION = """Waiting lists, plans and alerts of cohortplan, per region, for callers holding a bearer token of the
configured issuer. Roles: READ (the read routes), PLANNER, OPS (also the alert workflow), ADMIN (also the alert
workflow and dead letters); a token names the regions it may see, and anything of another region answers 404.
Errors are RFC 9457 problem+json."""


def build_app() -> FastAPI:
    """The routes, error handlers and metrics, not yet bound to a database or an issuer (enough for the
    OpenAPI document, :mod:`api.openapi`)."""
    app = FastAPI(title="cohortplan API", version="0.1.0", description=DESCRIPTION, openapi_url="/openapi.json",
                  docs_url="/docs", redoc_url=None, swagger_ui_oauth2_redirect_url=None)
    problems.install(app)
    metrics.install(app)
    for router in ROUTERS:
        app.include_router(router)
    generate = app.openapi
    app.openapi = lambda: problems.as_problem_media_type(generate())  # errors are problem+json in the document too
    return app


def create_app(engine: Engine, verifier: TokenVerifier) -> FastAPI:
    """The HTTP API over ``engine`` (its database, rules and read side), accepting tokens ``verifier`` accepts."""
    app = build_app()
    app.state.engine, app.state.verifier, app.state.reader = engine, verifier, Reader(engine)
    return app
