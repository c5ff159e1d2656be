"""What the routes read, through the engine's unit of work and read side (no SQL here).

Every number is the engine's own: the waiting list is the weekly report's data and rules
(:mod:`engine.reports.data`, :mod:`engine.reports.sections`), a referral's latest start the deadline
alerts' (:func:`engine.domain.deadlines.latest_start_any`), its explanation ``cohortplan explain``'s
(:mod:`engine.services.explain`).
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from datetime import date
from pathlib import Path
from typing import Any

from api.audit_log import AuditLog
from api.coalesce import SharedRead
from api.helper import ReadHelper
from api.read_model import ReadModel, Version
from engine import state_keys as keys
from engine.bootstrap import Engine
from engine.domain.access import LimitedAccess
from engine.domain.calendar import schedule_sessions
from engine.domain.deadlines import latest_start_any
from engine.domain.model import Cohort, CohortStatus
from engine.persistence.queries import Queries
from engine.persistence.report_queries import report_queries
from engine.persistence.subject_access import subject_access
from engine.reports.data import ReferralFact, ReportData, load_report_data, load_waiting
from engine.reports.publish import known_regions, report_dir
from engine.services.explain import latest_starts_of, place_notes, published_reason
from engine.services.planning import planned_regions

CURRENT_COHORTS = [CohortStatus.PROPOSED, CohortStatus.CONFIRMED, CohortStatus.STARTED]
MAX_ASKED = 4096  # referral ids per region a region's pass computes at most: the most recently asked


class RecentlyAsked:
    """The referral ids asked for lately, per region, the most recent :data:`MAX_ASKED` of each (thread-safe): a
    region's referrals are computed together for what its callers ask, so the cost follows the questions, not the
    region's size (a region a catch-up grew to 20,000 referrals took a pass longer than its answers stayed useful)."""

    def __init__(self, most: int | None = None) -> None:
        self.most = most or MAX_ASKED
        self._ids: dict[str, OrderedDict[str, None]] = {}
        self._guard = threading.Lock()

    def note(self, region: str, referral_id: str) -> None:
        with self._guard:
            ids = self._ids.setdefault(region, OrderedDict())
            ids[referral_id] = None
            ids.move_to_end(referral_id)
            if len(ids) > self.most:
                ids.popitem(last=False)

    def of(self, region: str) -> list[str]:
        with self._guard:
            return list(self._ids.get(region, ()))


class Reader:
    """Read-only questions about the engine's state; each opens and closes its own session."""

    def __init__(self, engine: Engine, max_stale_s: float, helper: bool = False) -> None:
        self.engine = engine
        self.rules = engine.rules
        # answers the same for every caller, per state version (api/read_model.py), computed again by a helper
        # process when ``helper`` (api/helper.py) and the database is one another process can open
        self.helper = ReadHelper(engine.settings) if helper and not engine.database.in_memory else None
        self.model = ReadModel(max_stale_s=max_stale_s, offload=self.helper.run if self.helper else None)
        # the audit of reads in group commits (api/audit_log.py) on a connection of its own (persistence/held.py)
        self.audit = AuditLog(engine.database.read_appends())
        self._marks = engine.database.held_queries()  # every request's state version, on a kept connection
        # One bound method for the process: the engine memoises latest starts by the calendar's identity, and
        # ``rules.is_holiday`` is a new bound method (a new identity) each time it is read.
        self.is_holiday = self.rules.is_holiday
        self._latest_starts = lru_cache(maxsize=16_384)(self._latest_starts_uncached)
        self._shared_state = SharedRead(self._version_and_access_now)
        self._access: tuple[str | None, dict[str, LimitedAccess]] | None = None  # the rules, by their mark's value
        self.regions_of_referrals: dict[str, str] = {}  # referral id → region, as the region's answers last found it
        self.asked = RecentlyAsked()  # the referral ids asked for lately, per region (what a region's pass computes)

    @contextmanager
    def queries(self) -> Iterator[Queries]:
        q = self.engine.queries()
        try:
            yield q
        finally:
            q.close()

    def ping(self) -> None:
        """Touch the database (raises when it cannot be reached)."""
        with self.engine.database.uow() as uow:
            uow.get_state(keys.CLOCK)

    def version(self) -> Version:
        """The state version: what the read model's answers are kept under."""
        with self.queries() as q:
            return q.state_version()

    def version_and_access(self) -> tuple[Version, dict[str, LimitedAccess]]:
        """The state version and every limited-access rule (of every case that has one), as a read started after
        this call was made found them: shared by the calls waiting at the same time (:class:`api.coalesce.SharedRead`),
        on one kept connection (:class:`engine.persistence.held.HeldQueries`: this read was a session, a checkout
        and its ping for every request)."""
        return self._shared_state()

    def _version_and_access_now(self) -> tuple[Version, dict[str, LimitedAccess]]:
        """The rules are read again only when their mark moved since they were last read. Each statement sees every
        change committed before it began: rules read after the version are as new as it, or newer (a rule newer
        than the version is kept under the older mark until the next read finds the mark moved and reads again)."""
        version = self._marks.state_version()
        mark = next((value for name, value in version if name == keys.ACCESS_RULES), None)
        if self._access is None or self._access[0] != mark:
            self._access = (mark, self._marks.limited_access())
        return version, self._access[1]

    def close(self) -> None:
        """The audit's last group committed, the kept connections closed and the helper stopped (at the server's
        end)."""
        self.audit.close()
        self._marks.close()
        if self.helper is not None:
            self.helper.close()

    def regions(self, version: Version | None = None) -> list[str]:
        """The known regions; at ``version``, kept and served behind the worker's writes for as long as any answer
        may be (api/read_model.py: every request reads them, and a writer moves the version with every event: at 50
        events/s a server process read them again in about one request in five, the others of the process waiting
        for that read). A region missing from a kept list may have arrived since: :meth:`region_list`."""
        if version is not None:
            return self.model.get(version, ("regions",), lambda: known_regions(self.engine.database), behind=True)
        return known_regions(self.engine.database)

    def region_list(self, code: str, kept: list[str]) -> list[str]:
        """``kept`` (the regions a request found) if it holds ``code``; else the known regions read now: a region
        that has just arrived is never answered 404 from a list kept behind the writes."""
        return kept if code in kept else self.regions()

    def planned_as_of(self, version: Version | None = None) -> dict[str, date]:
        """The date each region was last planned as of (the engine's planning clock): the ``last_planned:`` marks of
        ``version`` when given (the same rows :func:`planned_regions` reads, read with the version)."""
        if version is not None:
            return {keys.LAST_PLANNED.parts(name)[0]: date.fromisoformat(value)
                    for name, value in version if name.startswith(keys.LAST_PLANNED.prefix) and value}
        with self.engine.database.uow() as uow:
            return planned_regions(uow)

    def report_data(self, region: str, as_of: date) -> ReportData:
        q = report_queries(self.engine.database)
        try:
            return load_report_data(q, region, as_of, self.rules)
        finally:
            q.close()

    def waiting(self, region: str, as_of: date, status: str) -> tuple[ReferralFact, ...]:
        """The report's facts of the region's referrals in ``status`` that hold no place (the waiting list)."""
        q = report_queries(self.engine.database)
        try:
            return load_waiting(q, region, as_of, status, self.rules)
        finally:
            q.close()

    def person(self, crn: str) -> dict[str, Any] | None:
        with self.queries() as q:
            return q.person(crn)

    def person_of_referral(self, referral_id: str) -> dict[str, Any] | None:
        """:meth:`person` of the referral's crn, in one session (None for an unknown referral)."""
        with self.queries() as q:
            crn = q.referral_crn(referral_id)
            return q.person(crn) if crn else None

    def crn_of(self, referral_id: str) -> str | None:
        with self.queries() as q:
            return q.referral_crn(referral_id)

    def people_of_referrals(self, region: str, referral_ids: list[str]) -> list[dict[str, Any]]:
        """:meth:`person` of the region's people holding these referrals, read in one pass."""
        with self.queries() as q:
            return q.people_of_referrals(region, referral_ids)

    def referral_extras(self, region: str, referrals: list[dict]) -> dict[str, dict[str, Any]]:
        """Per referral id (of ``referrals``, one person's or a whole region's, all of ``region``): the latest start
        (the alerts' date and per pattern) and the explanation. The notes on places are read once for them all."""
        notes = place_notes(self.engine.database.uow, self.rules, region, referrals)
        out = {}
        for referral in referrals:
            deadline = date.fromisoformat(referral["deadline"]) if referral.get("deadline") else None
            code = referral["programme_code"]
            latest = latest_start_any(self.rules.catalogue, code, deadline, self.rules.deadline_margin_days,
                                      self.is_holiday) if deadline and code in self.rules.catalogue else None
            out[referral["referral_id"]] = {
                "latest_start": latest,
                "latest_starts": self._latest_starts(code, referral.get("deadline"), referral.get("ready_from"),
                                                     referral["referred_on"]),
                "explanation": {"reason": published_reason(referral), "notes": notes.get(referral["referral_id"], [])}}
        return out

    def _latest_starts_uncached(self, code: str, deadline: str | None, ready_from: str | None,
                                referred_on: str) -> dict[str, date | None]:
        """:func:`engine.services.explain.latest_starts_of` of a referral with these fields (a pure function of
        them and the rules, so kept per process)."""
        return latest_starts_of(self.rules, self.rules.deadline_margin_days, {
            "programme_code": code, "deadline": deadline, "ready_from": ready_from, "referred_on": referred_on})

    def access_rules(self, crns: list[str] | None = None) -> dict[str, LimitedAccess]:
        """The limited-access rules of ``crns`` (of every case that has one when None), by crn."""
        with self.engine.database.uow() as uow:
            return {crn: rule for crn, (rule, _) in uow.access_rules(crns).items() if rule.limited}

    def record_read(self, read: dict[str, Any]) -> None:
        """One row of the audit of reads (``UnitOfWork.record_read``'s row); returns once it is committed, in a
        group commit of :class:`api.audit_log.AuditLog` on its own connection (``engine.persistence.held``)."""
        self.audit.record(read)

    def subject_access(self, crn: str) -> dict[str, Any]:
        """Everything held on ``crn`` (engine/persistence/subject_access.py)."""
        return subject_access(self.engine.database, crn)

    def latest_plan(self, region: str) -> dict[str, Any] | None:
        with self.queries() as q:
            return q.latest_plan(region)

    def cohorts(self, region: str, cohort_id: str | None = None) -> list[tuple[Cohort, list[str]]]:
        """The region's current cohorts (or the one asked for, whatever its status) with their members."""
        with self.engine.database.uow() as uow:
            if cohort_id is None:
                cohorts = uow.cohorts.where(region_code=region, status=CURRENT_COHORTS)
            else:
                found = uow.cohorts.get(cohort_id)
                cohorts = [found] if found is not None and found.region_code == region else []
            ids = [c.cohort_id for c in cohorts]
            members: dict[str, list[str]] = defaultdict(list)
            for allocation in uow.allocations.where(cohort_id=ids) if ids else []:
                members[allocation.cohort_id].append(allocation.referral_id)
        return [(c, sorted(members[c.cohort_id])) for c in sorted(cohorts, key=lambda c: (c.start_date, c.cohort_id))]

    def sessions(self, cohort: Cohort) -> list[dict[str, Any]]:
        """The cohort's session calendar (bank holidays skipped), as the engine schedules it."""
        if cohort.programme_code not in self.rules.catalogue:
            return []
        programme = self.rules.catalogue.get(cohort.programme_code)
        return [{"number": s.number, "on": s.on, "kind": str(s.kind), "minutes": s.minutes}
                for s in schedule_sessions(programme, cohort.slots, cohort.start_date, self.rules.is_holiday)]

    def open_alerts(self, region: str, kinds: list[str] | None, pdu: str | None) -> list[dict[str, Any]]:
        with self.queries() as q:
            return q.open_alerts(region, kinds or None, pdu)

    def alert(self, region: str, alert_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The region's open alert and what people did to it (every occurrence of its id), or None."""
        with self.engine.database.uow() as uow:
            row = uow.active_alerts(region).get(alert_id)
            return (row, uow.alert_actions(alert_id)) if row is not None else None

    def all_open_alerts(self) -> list[dict[str, Any]]:
        with self.queries() as q:
            return q.open_alerts()

    def intake_counts(self) -> dict[str, int]:
        """Dead letters, events waiting (parked) and expired events kept for re-admission, for /metrics."""
        with self.queries() as q:
            return {"dead_letters": q.dead_letter_count(), "waiting": q.parked_count(), "expired": q.dormant_count()}

    def dead_letters(self, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        with self.queries() as q:
            return q.dead_letter_count(), q.dead_letters(limit, offset)


    def reports(self, region: str) -> list[dict[str, Any]]:
        """The region's weekly reports written to the output directory, newest first: the numbers saved next
        to each HTML file (as of, headline, the HTML and CSV file names)."""
        directory = report_dir(self.engine.settings.output_dir, region)
        found = []
        for path in directory.glob("weekly-*.json") if directory.is_dir() else ():
            numbers = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(numbers, dict) and numbers.get("as_of") == path.stem.removeprefix("weekly-"):
                found.append(numbers)
        return sorted(found, key=lambda n: n["as_of"], reverse=True)

    def report_file(self, region: str, name: str) -> Path | None:
        """A file of the region's reports by its name (as a report's numbers list it), if it is there."""
        if Path(name).name != name:  # a bare file name, never a path out of the directory
            return None
        path = report_dir(self.engine.settings.output_dir, region) / name
        return path if path.is_file() else None


def slack_days(fact: ReferralFact, as_of: date) -> int | None:
    return (fact.latest_start - as_of).days if fact.latest_start is not None else None
