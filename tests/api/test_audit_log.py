"""The audit of reads in group commits (api/audit_log.py): a row is committed before ``record`` returns, rows of
concurrent requests all land (each once), a failed commit fails every request of its group, and closing commits
what was handed over."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from api.audit_log import AuditLog
from engine.persistence.database import held_engine
from engine.persistence.held import ReadAppends


def row(n: int) -> dict:
    return dict(at=datetime.now(timezone.utc), actor=f"user-{n}", route="GET /referrals/{referral_id}",
                params={"referral_id": f"REF-{n}"}, crns=[f"X{n:06d}"], referral_ids=[f"REF-{n}"])


def audited(engine, n: int) -> list[dict]:
    with engine.database.uow() as uow:  # a session of its own: sees only what was committed
        return uow.reads_of(f"X{n:06d}")


def log_of(engine) -> AuditLog:
    return AuditLog(engine.database.read_appends())


def test_a_row_is_committed_when_record_returns(engine_copy):
    log = log_of(engine_copy)
    log.record(row(1))
    [found] = audited(engine_copy, 1)
    assert (found["actor"], found["referral_ids"]) == ("user-1", ["REF-1"])


def test_concurrent_rows_each_land_once(engine_copy):
    log = log_of(engine_copy)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: log.record(row(n)), range(100, 300)))
    for n in range(100, 300):
        assert [r["actor"] for r in audited(engine_copy, n)] == [f"user-{n}"]
    assert 1 <= log.commits <= 200


def test_a_failed_commit_fails_the_request_and_the_next_row_still_lands(engine_copy):
    failing = {"on": True}

    class Unreachable(ReadAppends):
        def append(self, rows):
            if failing["on"]:
                raise ConnectionError("database unreachable")
            super().append(rows)

    log = AuditLog(Unreachable(held_engine(engine_copy.database.url)))
    with pytest.raises(ConnectionError):
        log.record(row(7))
    failing["on"] = False
    log.record(row(8))
    assert audited(engine_copy, 7) == [] and len(audited(engine_copy, 8)) == 1


def test_close_commits_and_a_later_row_starts_another_writer(engine_copy):
    log = log_of(engine_copy)
    log.record(row(20))
    log.close()
    log.record(row(21))
    log.close()
    assert len(audited(engine_copy, 20)) == len(audited(engine_copy, 21)) == 1
