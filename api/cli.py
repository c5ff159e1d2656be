"""``cohortplan serve`` (the HTTP API under uvicorn) and ``cohortplan token`` (a local dev token).

Registered on the engine's Typer app when :mod:`cohortplan_cli` imports this module.
"""
from __future__ import annotations

import os
from typing import Optional

import typer
from pydantic import ValidationError

from api.auth import Role, TokenVerifier
from api.devauth import DevAuthRefused, DevIssuer, check_allowed, key_path
from api.settings import ApiSettings
from engine.cli import DbOption, app
from engine.console import console, open_engine
from engine.settings import EngineSettings

MAX_WORKERS = 64
# How long uvicorn's supervisor waits for a worker to answer its ping before killing it (its default, 5 s, killed
# busy workers under load: the ping's thread waits for the GIL behind every request thread of the process).
WORKER_HEALTHCHECK_S = 30
# How long a kept-alive connection may stay idle after an answer before the server closes it. uvicorn's default, 5 s,
# equals httpx's own keep-alive expiry: a client that read an answer late (a busy process) sent its next request on
# a connection the server was closing, and got "Server disconnected" or a reset (the bench's dropped connections).
# Longer than the idle timeout of the usual proxies in front (60 s), so they close first.
KEEP_ALIVE_S = 75


@app.command()
def serve(
    database_url: Optional[str] = DbOption,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    dev_auth: bool = typer.Option(False, "--dev-auth", help="Accept local tokens signed by a key made now (SQLite "
                                                              "only); get one with `cohortplan token`."),
    workers: Optional[int] = typer.Option(None, min=1, max=MAX_WORKERS, help="Server processes (default: one per "
                                          "CPU, at most 8, on PostgreSQL; one on SQLite and with --dev-auth)."),
) -> None:
    """Serve the HTTP API (docs/api.md): tokens of COHORTPLAN_API_ISSUER, or local tokens with --dev-auth."""
    import uvicorn

    from api.app import create_app
    url = database_url or EngineSettings().database_url
    try:
        if dev_auth:  # checked before the database is opened: never on anything but SQLite
            check_allowed(url)
            if (workers or 1) > 1:
                raise DevAuthRefused("--dev-auth serves one process (its key lives in it): leave out --workers")
    except DevAuthRefused as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    engine = open_engine(database_url)
    processes = workers or default_workers(url, dev_auth)
    if processes > 1:  # each process opens the database and checks tokens itself (api.app.served)
        try:
            TokenVerifier.from_settings(ApiSettings())  # a bad configuration stops here, not in N processes
        except (ValueError, ValidationError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        engine.database.dispose()
        os.environ["COHORTPLAN_DATABASE_URL"] = engine.settings.database_url
        uvicorn.run("api.app:served", factory=True, workers=processes, host=host, port=port, log_level="info",
                    **uvicorn_options())
        return
    path = key_path(engine.settings.output_dir)
    try:
        settings = ApiSettings()
        if dev_auth:
            issuer = DevIssuer.generate()
            issuer.save(path)
            verifier = issuer.verifier()
            console.print(f"dev auth: local tokens only, signing key in {path} (removed on exit); get a token with "
                          "`cohortplan token --role READ --region RS`")
        else:
            verifier = TokenVerifier.from_settings(settings)
    except (DevAuthRefused, ValueError, ValidationError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        uvicorn.run(create_app(engine, verifier, max_stale_s=settings.max_stale_s,
                               read_helper=settings.read_helper), host=host, port=port,
                    log_level="info", timeout_keep_alive=KEEP_ALIVE_S)
    finally:
        if dev_auth:
            path.unlink(missing_ok=True)


def uvicorn_options() -> dict:
    """uvicorn's options for the server processes of ``serve --workers N`` (bench/api_bench.py serves with them)."""
    return dict(timeout_worker_healthcheck=WORKER_HEALTHCHECK_S, timeout_keep_alive=KEEP_ALIVE_S)


def default_workers(database_url: str, dev_auth: bool = False) -> int:
    """One server process per CPU (at most 8) on PostgreSQL; one on SQLite (one writer per file) and with dev auth."""
    if dev_auth or database_url.startswith("sqlite"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


@app.command()
def token(
    role: list[Role] = typer.Option(..., "--role", help="Role (repeatable): READ, PLANNER, OPS or ADMIN."),
    region: list[str] = typer.Option(..., "--region", help="Region code the token may see (repeatable)."),
    subject: str = typer.Option("dev-user", help="The user id the token names."),
    minutes: int = typer.Option(60, min=1, max=24 * 60, help="Minutes until it expires."),
) -> None:
    """Print a local token for a running `cohortplan serve --dev-auth` (same output directory)."""
    try:
        issuer = DevIssuer.load(key_path(EngineSettings().output_dir))
    except DevAuthRefused as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    print(issuer.token(role, region, subject, minutes))
