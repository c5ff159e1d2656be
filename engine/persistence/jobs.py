"""The jobs table: submit, claim, beat, finish, and find jobs left RUNNING by a process that died.

Each call is its own short transaction. A claim is one conditional UPDATE (``status = 'QUEUED'`` re-checked
by the database), so two runners never take the same job.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.persistence import tables as t
from engine.persistence.database import Database, make_engine

QUEUED, RUNNING, SUCCEEDED, FAILED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED"


class JobStore:
    def __init__(self, database: Database) -> None:
        self._sessions: sessionmaker[Session] = sessionmaker(make_engine(database.url), expire_on_commit=False)

    def submit(self, job: dict[str, Any]) -> None:
        with self._sessions.begin() as s:
            s.add(t.JobRow(**job, status=QUEUED))

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._sessions() as s:
            row = s.get(t.JobRow, job_id)
            return _plain(row) if row is not None else None

    def queued(self, region: str) -> list[dict[str, Any]]:
        """The region's queued jobs, oldest first."""
        with self._sessions() as s:
            rows = s.execute(select(t.JobRow).where(t.JobRow.region_code == region, t.JobRow.status == QUEUED)
                             .order_by(t.JobRow.submitted_at, t.JobRow.job_id)).scalars()
            return [_plain(r) for r in rows]

    def claim(self, runner: str, now: datetime) -> dict[str, Any] | None:
        """The oldest queued job, now RUNNING for ``runner``; None when none is queued (or another runner won)."""
        with self._sessions.begin() as s:
            job_id = s.execute(select(t.JobRow.job_id).where(t.JobRow.status == QUEUED)
                               .order_by(t.JobRow.submitted_at, t.JobRow.job_id).limit(1)).scalar()
            if job_id is None:
                return None
            taken = s.execute(update(t.JobRow).where(t.JobRow.job_id == job_id, t.JobRow.status == QUEUED).values(
                status=RUNNING, runner=runner, started_at=now, heartbeat_at=now)).rowcount
        return self.get(job_id) if taken == 1 else None

    def beat(self, job_id: str, now: datetime) -> None:
        with self._sessions.begin() as s:
            s.execute(update(t.JobRow).where(t.JobRow.job_id == job_id, t.JobRow.status == RUNNING)
                      .values(heartbeat_at=now))

    def finish(self, job_id: str, now: datetime, result: dict[str, Any] | None = None,
               error: str | None = None) -> None:
        with self._sessions.begin() as s:
            s.execute(update(t.JobRow).where(t.JobRow.job_id == job_id).values(
                status=FAILED if error is not None else SUCCEEDED, finished_at=now, result=result, error=error))

    def fail_abandoned(self, silent_since: datetime, now: datetime) -> list[str]:
        """Fail the RUNNING jobs whose runner has not beaten since ``silent_since`` (its process died): the
        error says so. Returns their ids."""
        with self._sessions.begin() as s:
            rows = s.execute(select(t.JobRow.job_id, t.JobRow.runner, t.JobRow.heartbeat_at).where(
                t.JobRow.status == RUNNING, func.coalesce(t.JobRow.heartbeat_at, t.JobRow.started_at) < silent_since)
            ).all()
            for job_id, runner, beat in rows:
                s.execute(update(t.JobRow).where(t.JobRow.job_id == job_id, t.JobRow.status == RUNNING).values(
                    status=FAILED, finished_at=now, error=f"interrupted: the process running it ({runner}) stopped "
                    f"answering (last heartbeat {beat:%Y-%m-%d %H:%M:%S} UTC) before it finished; a re-plan may "
                    "have published before that (see the region's plan): submit it again if needed"))
        return [job_id for job_id, _, _ in rows]


def _plain(row: t.JobRow) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in t.JobRow.__table__.columns}
