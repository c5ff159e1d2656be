"""The audit of reads, committed in groups: a request's row is committed before its answer is sent.

Every person-level answer adds one row to ``audit_reads`` (api/access.py). Committing each row in a transaction of
its own cost a request a pooled connection (pinged on checkout), an insert and a commit — on SQLite, also a turn
at the single writer's lock. Here the rows of concurrent requests are written together by one thread per process,
on one connection it keeps (:class:`engine.persistence.held.ReadAppends`: no unit of work, no checkout, no ping):
a request hands its row over and waits until the transaction holding it is committed, then answers. While one
group is being committed the next gathers (no timer: an idle server commits a lone row at once), so under load a
commit carries many rows and a request waits about one commit.

What this guarantees (docs/api.md, Audit of reads): **no answer is sent whose row is not committed**, whatever
happens after — a crash can lose no row of an answered read. A crash can only lose rows of requests that had not
been answered yet (their callers get no answer), and a row may be committed for an answer that then failed to
reach its caller (as before). If the commit fails, every request of that group fails (500: a read that cannot be
audited is not answered) and its rows are not retried.
"""
from __future__ import annotations

import threading
from typing import Any, Protocol

MAX_GROUP = 500  # rows per transaction at most


class _Pending:
    __slots__ = ("row", "done", "error")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row, self.done, self.error = row, threading.Event(), None


class Appends(Protocol):
    """Where the groups go (:class:`engine.persistence.held.ReadAppends`)."""

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Commit ``rows`` together."""

    def close(self) -> None:
        """Let go of what appending holds (a later group takes it again)."""


class AuditLog:
    """Appends rows to the audit of reads in group commits; thread-safe."""

    def __init__(self, appends: Appends) -> None:
        self._appends = appends
        self._pending: list[_Pending] = []
        self._wake = threading.Condition()
        self._writer: threading.Thread | None = None
        self._stopping = False
        self.commits = 0  # transactions committed (tests read it)

    def record(self, row: dict[str, Any]) -> None:
        """Append ``row`` and return once it is committed (raises what the commit raised)."""
        pending = _Pending(row)
        with self._wake:
            self._pending.append(pending)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="audit-log", daemon=True)
                self._writer.start()
            self._wake.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    def close(self) -> None:
        """Commit what was handed over and stop the writer (a row recorded afterwards starts another)."""
        with self._wake:
            self._stopping = True
            writer = self._writer
            self._wake.notify()
        if writer is not None:
            writer.join()
        self._appends.close()  # its kept connection closed (a later writer opens another)
        with self._wake:
            self._stopping = False

    def _write(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if not self._pending:  # stopping, and nothing left: the next row starts another writer
                    self._writer = None
                    return
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
            error: BaseException | None = None
            try:
                self._appends.append([pending.row for pending in group])
                self.commits += 1
            except Exception as exc:  # every request of the group fails with it
                error = exc
            for pending in group:
                pending.error = error
                pending.done.set()
