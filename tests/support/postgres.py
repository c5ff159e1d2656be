"""A throwaway PostgreSQL server for the test suite.

``PostgresServer().start()`` runs ``initdb`` into a fresh temporary directory and starts
``postgres`` on a free TCP port on 127.0.0.1 (with durability switched off for speed).
``initdb``/``postgres`` refuse to run as root, so when we are root they run as the
``postgres`` system user (created by the Debian ``postgresql`` package) via ``runuser``.

:meth:`PostgresServer.halt` stops a started server without removing anything and :meth:`PostgresServer.resume`
starts it again on the same data directory and port, so clients see an outage, not a new server (the fault
suite's scenario 4).

If ``COHORTPLAN_TEST_POSTGRES_URL`` is set (an existing server's admin URL, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) that server is used instead
and nothing is started or stopped.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ENV_URL = "COHORTPLAN_TEST_POSTGRES_URL"
PG_USER = "postgres"
_LOG_TAIL_LINES = 40


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (or the postgres system user) are missing."""


def find_bin_dir() -> Path:
    """Newest ``/usr/lib/postgresql/<version>/bin`` holding ``pg_ctl`` and ``initdb``."""
    candidates = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        p = Path(d)
        if (p / "pg_ctl").is_file() and (p / "initdb").is_file():
            try:
                version = float(p.parent.name)
            except ValueError:
                continue
            candidates.append((version, p))
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found: no pg_ctl/initdb under "
            "/usr/lib/postgresql/*/bin"
        )
    return max(candidates)[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conninfo(sqlalchemy_url: str) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://...``) -> libpq URI for psycopg."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(
        hide_password=False
    )


class PostgresServer:
    """``durable=False`` (the suite's default) runs with fsync, synchronous_commit and full_page_writes off, for
    speed; ``durable=True`` keeps PostgreSQL's durable defaults (a commit acknowledged is a commit kept, even
    through a crash), as a production server runs."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.admin_url: str | None = os.environ.get(ENV_URL) or None
        self.external = self.admin_url is not None
        self.port: int | None = None
        self.tmpdir: Path | None = None
        self.startup_seconds: float | None = None
        self._bin: Path | None = None
        self._running = False

    # ------------------------------------------------------------------ helpers
    @property
    def datadir(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "data"

    @property
    def logfile(self) -> Path:
        assert self.tmpdir is not None
        return self.tmpdir / "server.log"

    def _as_pg(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", PG_USER, "--", *argv]
        return argv

    def _run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, LC_ALL="C", LANG="C")
        env.pop("PGDATA", None)
        return subprocess.run(
            self._as_pg(argv),
            cwd=self.tmpdir,  # postgres user must be able to read its cwd
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _log_tail(self) -> str:
        try:
            lines = self.logfile.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(lines[-_LOG_TAIL_LINES:])

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> "PostgresServer":
        if self.external or self._running:
            return self
        began = time.monotonic()
        self._bin = find_bin_dir()
        uid = gid = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(PG_USER)
            except KeyError as exc:
                raise PostgresUnavailable(
                    f"system user {PG_USER!r} is missing (the Debian 'postgresql' package creates it)"
                ) from exc
            uid, gid = pw.pw_uid, pw.pw_gid

        self.tmpdir = Path(tempfile.mkdtemp(prefix="cohortplan-pg-"))
        if uid is not None:
            os.chown(self.tmpdir, uid, gid)
        try:
            init = self._run(
                [
                    str(self._bin / "initdb"),
                    "-D", str(self.datadir),
                    "-U", PG_USER,
                    "--auth=trust",
                    "-E", "UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ]
            )
            if init.returncode != 0:
                raise RuntimeError(
                    f"initdb failed (exit {init.returncode}):\n{init.stdout}\n{init.stderr}"
                )
            # The port is picked before the server binds it; retry on the rare race.
            for attempt in range(3):
                self.port = _free_port()
                res = self._pg_ctl_start()
                if res.returncode == 0:
                    break
                if attempt == 2 or "already in use" not in self._log_tail():
                    raise RuntimeError(
                        f"pg_ctl start failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}"
                    )
        except BaseException as exc:
            print(f"PostgreSQL failed to start: {exc}\n--- tail of {self.logfile} ---\n{self._log_tail()}")
            self._cleanup()
            raise
        self._running = True
        self.admin_url = f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/postgres"
        self.startup_seconds = time.monotonic() - began
        return self

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        assert self._bin is not None and self.tmpdir is not None
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.tmpdir}"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return self._run(
            [str(self._bin / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-o", opts,
             "-w", "-t", "60", "start"]
        )

    def halt(self, mode: str = "immediate") -> None:
        """Stop the server, keeping its data directory and port for :meth:`resume`. ``immediate`` (the
        default) is a crash as clients see it: connections cut, no checkpoint, recovery on the next start."""
        if self.external or not self._running or self._bin is None:
            raise RuntimeError("only a server this process started can be halted")
        res = self._run([str(self._bin / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"])
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}")
        self._running = False

    def resume(self) -> None:
        """Start a halted server again on the same data directory and port."""
        if self.external or self._running or self.tmpdir is None:
            raise RuntimeError("only a halted server can be resumed")
        res = self._pg_ctl_start()
        if res.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed (exit {res.returncode}):\n{res.stdout}\n{res.stderr}\n"
                               f"{self._log_tail()}")
        self._running = True

    @property
    def running(self) -> bool:
        return self._running

    def stop(self) -> None:
        if self.external:
            return
        if self._running and self._bin is not None:
            self._run([str(self._bin / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"])
            self._running = False
        self._cleanup()

    def _cleanup(self) -> None:
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- databases
    def url(self, dbname: str) -> str:
        """SQLAlchemy URL of database ``dbname`` on this server."""
        if self.admin_url is None:
            raise RuntimeError("PostgresServer is not started")
        return make_url(self.admin_url).set(database=dbname).render_as_string(hide_password=False)

    def _admin_connect(self) -> psycopg.Connection:
        if self.admin_url is None:
            raise RuntimeError("PostgresServer is not started")
        return psycopg.connect(_conninfo(self.admin_url), autocommit=True, connect_timeout=10)

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        from psycopg import sql

        with self._admin_connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self._admin_connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
