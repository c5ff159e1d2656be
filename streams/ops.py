"""What an operator needs from a worker before anything else: which database and broker it uses.

:func:`without_secrets` keeps a URL's scheme, user, host, port, path and harmless query parameters and
masks the password and any secret-looking parameter, so a URL can be logged. :func:`announce` writes the
worker's first log lines with it, on a logger of their own (faust sets up logging only later).
"""
from __future__ import annotations

import logging
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_PARAMS = ("password", "passwd", "pass", "secret", "token", "key", "credential", "sslpassword")
START_LOG = "cohortplan.worker"


def without_secrets(url: str) -> str:
    """``url`` with its password and secret-looking query parameters masked (each URL of a ``;`` list)."""
    return ";".join(_one(part) for part in url.split(";"))


def _one(url: str) -> str:
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    if query:
        query = urlencode([(k, MASK if any(s in k.lower() for s in SECRET_PARAMS) else v)
                           for k, v in parse_qsl(query, keep_blank_values=True)], safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # as given: urlunsplit would drop the empty host of sqlite:////abs/path
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def announce(database_url: str, broker_url: str, group: str, worker_id: str) -> None:
    """The worker's first log lines: database and broker (no secrets), consumer group, worker id."""
    log = logging.getLogger(START_LOG)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.INFO)
    log.info("cohortplan worker %s starting: database %s", worker_id, without_secrets(database_url))
    log.info("cohortplan worker %s: broker %s, consumer group %s", worker_id, without_secrets(broker_url), group)


class SharedSQLite(RuntimeError):
    """Another worker holds this SQLite database: several workers need PostgreSQL."""


_HELD: list = []  # the lock files this process holds, open for its lifetime


def sole_sqlite_worker(database_url: str) -> str | None:
    """On a SQLite database, lock ``<file>.worker.lock`` for this process's lifetime, so a second worker on the
    same file refuses to start (on SQLite the relay's ``try_lock`` locks nothing, and two workers' relays would
    both send the same rows). Returns the lock file's path; None for another database or an in-memory one."""
    import fcntl

    if not database_url.startswith("sqlite"):
        return None
    path = urlsplit(database_url).path  # sqlite:///relative.db, sqlite:////absolute.db (as SQLAlchemy reads them)
    path = path[1:] if path.startswith("/") else path
    if not path or path == ":memory:":
        return None
    lock_path = f"{path}.worker.lock"
    handle = open(lock_path, "a+")  # noqa: SIM115 - held open until the process ends
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SharedSQLite(f"another worker already uses the SQLite database {path} (it holds {lock_path}); "
                           "several workers need PostgreSQL (set COHORTPLAN_DATABASE_URL to a postgresql URL), "
                           "or stop the other worker first") from None
    _HELD.append(handle)
    return lock_path
