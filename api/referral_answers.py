"""A referral's answer as everyone may see it, and a region's referrals computed together (its pass), off the server
process's interpreter.

**Why another process.** A region's pass (the people holding the referrals its callers asked for lately, each of
their referrals with its history, place, latest starts and explanation, serialised) took 230-380 ms of a server
process on PostgreSQL with a worker writing alongside, and 80-175 ms on an idle SQLite. Run on the read model's
refresher thread, it held the process's GIL for most of that: every request thread of the process waited behind it
at each turn (its read of the state version waited up to 160 ms), and the referral route's p99 was 158-195 ms where
the target is 100 (BENCHMARKS.md, issue 15, session 17). :class:`PassProcess` computes the pass in a child process of
its own, one per server process, and hands back each referral's answer already serialised: the server only unpickles
bytes. The refresher thread waits for it without holding the GIL.

The child opens the same database with the same settings (``bootstrap(settings)``, no migrations), reads through the
same :class:`api.reads.Reader` code and builds the same models; it dies with its server process, even when that is
SIGKILLed (:func:`solver.workers.die_with_parent`). A child that dies is replaced at the next pass, and that pass is
computed in the server process, as without a child. A database only the server process can open (SQLite in memory)
keeps the pass in the process.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, NamedTuple

from api.models import Place, Referral, StatusChange
from engine.settings import EngineSettings
from solver.workers import die_with_parent

if TYPE_CHECKING:
    from api.reads import Reader

log = logging.getLogger(__name__)


class Found(NamedTuple):
    """A referral's answer as everyone who may see its person is shown it (kept in the read model), serialised
    once; whom it is shown to is decided per request."""

    region: str
    crn: str
    body: bytes


def summary(referral: dict[str, Any]) -> dict[str, Any]:
    """A referral's fields shown in a person's list of referrals (and at the head of its own answer)."""
    allocation = referral.get("allocation")
    return dict(referral_id=referral["referral_id"], crn=referral["crn"], programme_code=referral["programme_code"],
                status=referral["status"], referred_on=referral["referred_on"], deadline=referral["deadline"],
                cohort_id=allocation["cohort_id"] if allocation else None)


def found_of(person: dict[str, Any], found: dict[str, Any], extras: dict[str, Any]) -> Found:
    """The answer of one of ``person``'s referrals (``found``, as :meth:`engine.persistence.queries.Queries.person`
    holds it), with its latest starts and explanation (``extras``: :meth:`api.reads.Reader.referral_extras`)."""
    allocation, cohort = found.get("allocation"), found.get("cohort")
    place = Place(cohort_id=allocation["cohort_id"], plan_version=allocation["plan_version"],
                  allocated_on=allocation["allocated_on"], reason=allocation["reason"], source=allocation["source"],
                  pinned=allocation["pinned"], cohort_start=cohort and cohort["start_date"],
                  cohort_end=cohort and cohort["end_date"], office_code=cohort and cohort["office_code"]) \
        if allocation else None
    history = [StatusChange(at=h["at"], from_status=h["from_status"], to_status=h["to_status"], reason=h["reason"])
               for h in found["history"]]
    answer = Referral(**summary(found), region=person["region"], pathway=found["pathway"],
                      risk_band=found["risk_band"], ready_from=found["ready_from"], history=history, place=place,
                      **extras)
    return Found(person["region"], person["crn"], answer.model_dump_json().encode())


def region_pass(read: Reader, region: str, referral_ids: list[str]) -> dict[str, Found]:
    """The answers of every referral of the region's people holding any of ``referral_ids``, by referral id."""
    people = read.people_of_referrals(region, referral_ids)
    referrals = [r for person in people for r in person["referrals"]]
    extras = read.referral_extras(region, referrals)
    return {r["referral_id"]: found_of(person, r, extras[r["referral_id"]]) for person in people
            for r in person["referrals"]}


def shareable(database_url: str) -> bool:
    """Whether another process opening ``database_url`` sees the same data (not SQLite in memory)."""
    url = database_url.lower()
    return not (url.startswith("sqlite") and (url.rstrip("/") in ("sqlite:", "sqlite+pysqlite:") or ":memory:" in url
                                              or "mode=memory" in url))


class PassProcess:
    """Regions' passes computed in one child process (started on first use, or by :meth:`start`); thread-safe."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._executor: ProcessPoolExecutor | None = None
        self._guard = threading.Lock()
        self.passes = 0  # passes the child computed (tests read it) ...
        self.fallbacks = 0  # ... and passes computed in this process because the child had died

    def start(self) -> None:
        """Start the child now (it takes a second or two to import and open the database), not at the first pass."""
        self._pool().submit(os.getpid)

    def pid(self) -> int | None:
        """The child's process id, once it runs (tests read it)."""
        with self._guard:
            processes = list(getattr(self._executor, "_processes", None) or {})
        return processes[0] if processes else None

    def __call__(self, read: Reader, region: str, referral_ids: list[str]) -> dict[str, Found]:
        """The region's pass (:func:`region_pass`), computed in the child; in ``read``'s process if it died."""
        executor = self._pool()
        try:
            found = executor.submit(_child_pass, region, referral_ids).result()
        except BrokenProcessPool:
            with self._guard:
                if self._executor is executor:
                    self._executor = None  # the next pass starts another child
            log.warning("the referral pass process died; region %s's pass is computed in the server process, the "
                        "next in a new child", region)
            self.fallbacks += 1
            return region_pass(read, region, referral_ids)
        self.passes += 1
        return found

    def close(self) -> None:
        with self._guard:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        with self._guard:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_child_start, initargs=(os.getpid(), self.settings))
            return self._executor


_reader: Reader | None = None  # the child's


def _child_start(parent_pid: int, settings: EngineSettings) -> None:
    """In the child: die with the server process; open the database as it does."""
    global _reader
    die_with_parent(parent_pid)
    from api.reads import Reader
    from engine.bootstrap import bootstrap
    _reader = Reader(bootstrap(settings, run_migrations=False), max_stale_s=0.0)


def _child_pass(region: str, referral_ids: list[str]) -> dict[str, Found]:
    assert _reader is not None, "the pass process was not started by PassProcess"
    return region_pass(_reader, region, referral_ids)
