"""The app factory: ``create_app(engine, verifier)`` — the engine's database and rules, and who may call."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import metrics, problems
from api.auth import TokenVerifier
from api.freshness import Freshness
from api.read_model import MAX_STALE_S
from api.reads import Reader
from api.routes import ROUTERS
from engine.bootstrap import Engine
from engine.heap import settle
from engine.services.jobs import JobRunner

log = logging.getLogger(__name__)

DESCRIPTION = """Waiting lists, plans and alerts of cohortplan, per region, for callers holding a bearer token of the
configured issuer. Roles: READ (the read routes), PLANNER (also re-plans, what-ifs and FTE sweeps, queued as jobs),
OPS (also the alert workflow), ADMIN (also jobs, the alert workflow, and dead letters with their redrive); a token names the regions it may see, and anything of another region answers 404.
Errors are RFC 9457 problem+json.
Answers about a region may be served up to a few seconds (COHORTPLAN_API_MAX_STALE_S, default 5) behind the stream
worker's writes, carrying an `Age` header when they are; send `Cache-Control: no-cache` for the state as it is now.
Changes made through this API (overrides, re-plans, alert actions) are never answered from behind."""


def build_app() -> FastAPI:
    """The routes, error handlers and metrics, not yet bound to a database or an issuer (enough for the
    OpenAPI document, :mod:`api.openapi`)."""
    app = FastAPI(title="cohortplan API", version="0.1.0", description=DESCRIPTION, openapi_url="/openapi.json",
                  docs_url="/docs", redoc_url=None, swagger_ui_oauth2_redirect_url=None, lifespan=_jobs_running)
    problems.install(app)
    metrics.install(app)
    app.add_middleware(Freshness)  # Cache-Control in, Age out (api/freshness.py)
    for router in ROUTERS:
        app.include_router(router)
    generate = app.openapi
    app.openapi = lambda: problems.as_problem_media_type(generate())  # errors are problem+json in the document too
    return app


def create_app(engine: Engine, verifier: TokenVerifier, run_jobs: bool = True,
               max_stale_s: float = MAX_STALE_S, read_helper: bool = False) -> FastAPI:
    """The HTTP API over ``engine`` (its database, rules and read side), accepting tokens ``verifier`` accepts;
    while it is served, a job runner runs the queued jobs unless ``run_jobs`` is False (they wait queued). An answer
    about a region may be served up to ``max_stale_s`` behind the worker's writes (api/read_model.py), and is
    computed again by a helper process when ``read_helper`` (api/helper.py)."""
    app = build_app()
    app.state.engine, app.state.verifier = engine, verifier
    app.state.reader = Reader(engine, max_stale_s, helper=read_helper)
    app.state.jobs, app.state.dead_letters, app.state.run_jobs = engine.jobs(), engine.dead_letter_store(), run_jobs
    return app


def served() -> FastAPI:
    """The app each worker process of ``cohortplan serve --workers N`` serves (uvicorn imports it by name, so it
    takes everything from the environment): the engine of ``COHORTPLAN_DATABASE_URL`` (set by the command from
    ``--database-url``), tokens of ``COHORTPLAN_API_ISSUER``. Never local dev tokens: those need one process."""
    from api.settings import ApiSettings
    from engine.bootstrap import bootstrap
    from engine.settings import EngineSettings
    settings = ApiSettings()
    return create_app(bootstrap(EngineSettings()), TokenVerifier.from_settings(settings),
                      max_stale_s=settings.max_stale_s, read_helper=settings.read_helper)


@asynccontextmanager
async def _jobs_running(app: FastAPI) -> AsyncIterator[None]:
    """The job runner (its own thread; the solver in its worker process) for as long as the app is served; at the
    end, the audit of reads' last group committed (api/audit_log.py), and what the read model computed logged (as
    ``/metrics`` says it). The read helper starts with it (api/helper.py)."""
    settle()  # the app, its schemas and the ORM live as long as the server: out of the collector's walks
    reader = getattr(app.state, "reader", None)
    if reader is not None and reader.helper is not None:
        await asyncio.to_thread(reader.helper.start)  # warm when the first answer comes due (api/helper.py)
    runner = JobRunner(app.state.engine, app.state.jobs) if getattr(app.state, "run_jobs", False) else None
    if runner is not None:
        runner.start()
        app.state.job_runner = runner
    try:
        yield
    finally:
        if runner is not None:
            await asyncio.to_thread(runner.stop)
        if reader is not None:
            log.info("%s", computed(reader))
            await asyncio.to_thread(reader.close)


def computed(reader: Reader) -> str:
    """What the process's read model computed, by kind of answer, in requests and off them; what its helper did."""
    tally = reader.model.tallied()

    def where(ahead: bool) -> str:
        return ", ".join(f"{kind} {n}" for (kind, by), n in sorted(tally.items()) if by == ahead) or "none"
    helper = reader.helper
    return (f"read model: answers computed in requests: {where(False)}; by the refresher: {where(True)}"
            + (f"; read helper: {helper.ran} computed, {helper.fell_back} done in the server, {helper.started} "
               f"started" if helper is not None else ""))
