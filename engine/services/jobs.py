"""Jobs: re-plans, what-ifs and FTE sweeps asked for over the API, queued in the database and run off the request.

:func:`submit` queues one (bounded: :class:`AlreadyQueued`, :class:`QueueFull`); a :class:`JobRunner` (a thread,
started by the API's lifespan) claims queued jobs one at a time and runs them with the solver in its worker
process (``CpSatAllocator(in_process=False)``, :mod:`solver.workers`). A re-plan goes through the planning
service as the worker's does (:meth:`Planner.prepare`, solve, :meth:`Planner.publish`: the gate, the outbox, the
alert sweep); a what-if or a sweep through :mod:`engine.services.whatif` (nothing written).

Nothing is lost by a restart: a queued job waits in the table for the next runner; a job left RUNNING by a
process that died (no heartbeat for :data:`ABANDONED_AFTER_S`) is FAILED, with an error saying so, by the next
runner's poll — never re-run behind the caller's back (a re-plan may have published before the process died).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from engine import state_keys as keys
from engine.services.overrides import in_transaction
from engine.services.planning import Stale
from engine.services.whatif import Scenario, WhatIfError, run_sweep, run_whatif

if TYPE_CHECKING:
    from engine.bootstrap import Engine

log = logging.getLogger(__name__)

REPLAN, WHATIF, FTE_SWEEP = "REPLAN", "WHATIF", "FTE_SWEEP"
MAX_QUEUED_PER_REGION = 5   # queued jobs of one region; more answer 429 (a re-plan: one queued, else 409)
HEARTBEAT_S = 5.0
ABANDONED_AFTER_S = 60.0    # RUNNING without a heartbeat this long: its process died


class JobStore(Protocol):
    def submit(self, job: dict[str, Any]) -> None: ...
    def get(self, job_id: str) -> dict[str, Any] | None: ...
    def queued(self, region: str) -> list[dict[str, Any]]: ...
    def claim(self, runner: str, now: datetime) -> dict[str, Any] | None: ...
    def beat(self, job_id: str, now: datetime) -> None: ...
    def finish(self, job_id: str, now: datetime, result: dict[str, Any] | None = None,
               error: str | None = None) -> None: ...
    def fail_abandoned(self, silent_since: datetime, now: datetime) -> list[str]: ...


class AlreadyQueued(RuntimeError):
    """The region has a re-plan queued already: it will plan the state as it is when it runs."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"a re-plan of this region is already queued (job {job_id}); it plans the region as it "
                         "is when it runs, so a second one would plan the same state again")
        self.job_id = job_id


class QueueFull(RuntimeError):
    """The region has as many queued jobs as allowed."""


_submitting = threading.Lock()  # the bound is checked and the job queued as one step (in this process)


def submit(store: JobStore, region: str, kind: str, request: dict[str, Any], who: str) -> dict[str, Any]:
    """Queue a job of ``kind`` for ``region``; returns the stored job."""
    with _submitting:
        queued = store.queued(region)
        replan = next((j for j in queued if j["kind"] == REPLAN), None)
        if kind == REPLAN and replan is not None:
            raise AlreadyQueued(replan["job_id"])
        if len(queued) >= MAX_QUEUED_PER_REGION:
            raise QueueFull(f"region {region} has {len(queued)} jobs queued, the most allowed; "
                            "try again when one has started")
        job_id = str(uuid.uuid4())
        store.submit(dict(job_id=job_id, region_code=region, kind=kind, request=request, submitted_by=who,
                          submitted_at=datetime.now(timezone.utc)))
    return store.get(job_id)


class JobFailed(RuntimeError):
    """A job that cannot do what it was asked: the message is the job's error."""


def run_job(engine: Engine, job: dict[str, Any]) -> dict[str, Any]:
    """Run one job (the solver in its worker process); its result summary, or :class:`JobFailed`."""
    solving = replace(engine, settings=engine.settings.model_copy(update={"solver_in_process": False}))
    request, region = job["request"], job["region_code"]
    as_of = date.fromisoformat(request["as_of"]) if request.get("as_of") else None
    try:
        if job["kind"] == REPLAN:
            return replan(solving, region, as_of, request.get("time_limit_s"))
        scenario = Scenario(
            add_facilitators=request.get("add_facilitators") or {},
            remove_facilitators=request.get("remove_facilitators") or {},
            programmes=frozenset(request["programmes"]) if request.get("programmes") else None,
            evening_track=bool(request.get("evening_track")), open_venues=request.get("open_venues") or {},
            demand_factor=request.get("demand_factor", 1.0),
            new_facilitator_slots=request.get("new_facilitator_slots", "any"))
        common = dict(region=region, as_of=as_of, allocator=request.get("allocator", "cpsat"),
                      time_limit_s=request.get("time_limit_s", 5.0))
        if job["kind"] == WHATIF:
            return run_whatif(solving, scenario, **common).to_dict()
        return run_sweep(solving, request["target_miss_pct"], tuple(request.get("pdus") or ()),
                         request.get("max_fte", 10), scenario, **common).to_dict()
    except WhatIfError as exc:
        raise JobFailed(str(exc)) from None


def replan(engine: Engine, region: str, as_of: date | None, time_limit_s: float | None) -> dict[str, Any]:
    """Plan the region now, as the worker does: snapshot, solve, publish onto the state as it then is."""
    if time_limit_s is not None:
        engine = replace(engine, settings=engine.settings.model_copy(update={"solver_time_limit_s": time_limit_s}))
    planner = engine.planner()
    last = planner.last_planned(region)
    day = as_of or (planner.clock() or datetime.now(timezone.utc)).date()
    if last is not None and day < last:
        day = last  # the planning clock never goes back: a later plan exists
    prepared = planner.prepare(region, day)
    plan = planner.allocator.allocate(prepared.problem)
    try:
        outcome = planner.publish(prepared, plan)
    except Stale as exc:
        raise JobFailed(f"not published: {exc}; the region's newer plan stands") from None
    if outcome is None:
        raise JobFailed("not published: the plan could not be carried onto the region's state as it changed "
                        "while solving; the region stays marked for re-planning")
    # whoever asked reads what the plan did next: the API serves no answer about the region from before it
    in_transaction(engine.database.uow, lambda uow: uow.bump_state(keys.ASKED.key(region)))
    return {"published": not outcome.rejected, "plan_version": outcome.plan_version, "as_of": day.isoformat(),
            "allocator": plan.allocator, "status": plan.status, "assigned": len(plan.assignments),
            "unallocated": len(plan.unallocated), "made": outcome.made, "changed": outcome.changed,
            "removed": outcome.removed, "cohorts_opened": outcome.opened, "restaffed": outcome.restaffed,
            "invariant_violations": len(outcome.rejected), "at_risk": len(outcome.at_risk),
            "missed": len(outcome.missed), "gap": plan.gap, "solve_seconds": round(plan.solve_seconds, 2)}


class JobRunner:
    """Claims queued jobs and runs them one at a time on its own thread (never the event loop's)."""

    def __init__(self, engine: Engine, store: JobStore, poll_s: float = 0.5) -> None:
        self.engine, self.store, self.poll_s = engine, store, poll_s
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; a job still running is left RUNNING and failed as abandoned by the next runner."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # noqa: BLE001 - the database may be away; the next poll tries again
                log.exception("job runner: poll failed")
                ran = False
            if not ran:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def run_once(self) -> bool:
        """Fail abandoned jobs, then claim and run the oldest queued one; False when none was queued."""
        now = datetime.now(timezone.utc)
        for job_id in self.store.fail_abandoned(now - timedelta(seconds=ABANDONED_AFTER_S), now):
            log.warning("job %s failed: its runner stopped beating", job_id)
        job = self.store.claim(self.name, datetime.now(timezone.utc))  # not ``now``: a job queued meanwhile
        # would otherwise be started before it was submitted
        if job is None:
            return False
        done = threading.Event()
        beating = threading.Thread(target=self._beat, args=(job["job_id"], done), daemon=True)
        beating.start()
        try:
            result, error = run_job(self.engine, job), None
        except JobFailed as exc:
            result, error = None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug in one job must not stop the others
            log.exception("job %s (%s of %s) failed", job["job_id"], job["kind"], job["region_code"])
            result, error = None, f"internal error ({type(exc).__name__}); it has been logged"
        finally:
            done.set()
            beating.join()
        self.store.finish(job["job_id"], datetime.now(timezone.utc), result, error)
        log.info("job %s (%s of %s): %s", job["job_id"], job["kind"], job["region_code"], error or "succeeded")
        return True

    def _beat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_S):
            try:
                self.store.beat(job_id, datetime.now(timezone.utc))
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next
                log.warning("job %s: heartbeat not written", job_id)
