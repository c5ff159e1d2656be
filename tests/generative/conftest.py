"""What the generative tests share: a fresh engine per example, replaying, and the checks after every plan.

After every plan (:meth:`Engine.plan`):

- the plan was published and :func:`engine.invariants.check_region` finds no violation; every kept place it
  flags has an open alert (issue 12);
- no plan removed or moved a place the delivery team made: a ``DELIVERY`` place held before the plan is held
  after it, or has an open alert naming its referral, and the plan's outbox has no ``allocation.removed`` or
  ``allocation.changed`` for it (issue 18). The ingest loses one only to a human event: the cohort
  cancelled, the referral closed (terminated, withdrawn) or placed elsewhere by a later confirmation;
- the clock is within bounds: the event clock is never later than the latest valid event time sent (one not
  expected to be a dead letter), after every batch and every plan;
- every member of a cohort's latest applied confirmation (by ``occurred_at``) holds a place there, or their
  referral closed, or the cohort is no longer open, or ``confirmation.member_refused`` is open for
  ``<cohort>/<referral>`` (docs/events.md, "Facts from other systems").

After a replay, every dead letter is one the rules allow (:func:`check_dead_letters`).
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import pytest

from engine.alerts.inputs import HOLDING_PLACE, NOT_STARTED, RUNNING, UPCOMING
from engine.alerts.rules.allocation_finishes_late import KIND as FINISHES_LATE
from engine.alerts.rules.confirmation_member_refused import KIND as MEMBER_REFUSED
from engine.alerts.rules.place_breaks_rule import KIND as BREAKS_RULE
from engine.domain.clock import ClockBounds
from engine.domain.model import CohortStatus
from engine.domain.placement import Rule
from engine.handlers.confirmations import refusals
from engine.invariants import check_region
from engine.persistence.database import Database
from engine.ports import CONFLICT_REASON, EXPIRED_REASON
from engine.services.ingest import event_clock
from engine.services.planning import PlanOutcome
from tests.generative.strategies import INVALID
from tests.support.stores import SqlTestStore
from tests.unit.engine.harness import Harness

REGION = "RS"
# Dead letters the rules allow for valid input: an event a handler refused, a conflicting copy, an expired wait.
# Anything else (bad JSON, an invalid envelope or payload, a wrong key) or an unknown code means the generator
# sent what no upstream system may send.
REFUSED = re.compile(rf"^[a-z_]+\.[a-z_]+ rejected: |^{CONFLICT_REASON}|^{EXPIRED_REASON}")
UNKNOWN_CODE = "is not a known"
WAITED = re.compile(rf"^{EXPIRED_REASON}: waited (\d+) h ")
# Dead letters only the messages of an issue 18 kind may become (tests.generative.strategies, Sent.kind): a
# message of kind ahead, control, key or limits must become its own; redefined may (its cohort had started).
EXPECTED = (
    ("ahead", re.compile(r"^[a-z_]+\.[a-z_]+ rejected: occurred_at \S+ is more than \d+ days after .*"
                         r"\(COHORTPLAN_CLOCK_MAX_JUMP_DAYS\)$")),
    ("control", re.compile(r"^invalid [a-z_]+\.[a-z_]+ payload: [a-z_.0-9]+: must not contain control characters")),
    ("key", re.compile(r"^[a-z_]+\.[a-z_]+: key '[A-Z0-9]+' is not the payload's (crn|target_crn) '[A-Z0-9]+'; ")),
    ("limits", re.compile(r"^cohort\.planned rejected: cohort \S+: min_size \d+ is above max_size \d+$")),
    ("redefined", re.compile(r"^cohort\.planned rejected: cohort \S+: a [A-Z]+ cohort cannot be redefined$")),
)
# A referral the confirmation.member_refused alert still watches (engine.alerts.gather): closed otherwise.
OPEN_REFERRAL = NOT_STARTED | HOLDING_PLACE | {"DEFERRED", "RETURN_TO_COURT", "BREACH", "DEPRIORITISED", "RECALL"}
# A place the delivery team made is lost by the ingest only when the referral leaves these (or the cohort
# is cancelled, or a later confirmation places the referral elsewhere).
JOINABLE = frozenset({"AWAITING_ALLOCATION", "SCHEDULED", "ON_PROGRAMME"})
MOVES = ("allocation.removed", "allocation.changed")


@dataclass
class Fed:
    """What a replay sent so far: the issue 18 kinds to expect (event id → kind), the latest valid event
    time, and the confirmations (event id → message)."""

    expected: Mapping[str, str] = field(default_factory=dict)
    latest: datetime | None = None
    earliest: datetime | None = None  # of the valid events not dated far behind
    confirmations: dict[str, dict] = field(default_factory=dict)

    def note(self, lines: Iterable[str]) -> None:
        for line in lines:
            body = json.loads(line)
            kind = self.expected.get(body["event_id"])
            if kind in INVALID:
                continue
            occurred = datetime.fromisoformat(body["occurred_at"])
            self.latest = max(self.latest or occurred, occurred)
            if kind != "behind":
                self.earliest = min(self.earliest or occurred, occurred)
            if body["event_type"] == "cohort.confirmed":
                self.confirmations[body["event_id"]] = body

    def span(self) -> timedelta:
        """The event time the history spans (leaving out what is dated far behind): no wait is longer."""
        return self.latest - self.earliest if self.earliest and self.latest else timedelta(0)


class Engine:
    """Fresh engines on throwaway SQLite files, replays of event batches, and the invariants after every plan."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "migrated.db"  # migrated once; each engine starts from a copy (4x faster)
        Database(f"sqlite:///{self.template}").dispose()

    @contextmanager
    def fresh(self, park_timeout: bool = True) -> Iterator[Harness]:
        """An engine with the event clock's production bound (92 days; the unit harness allows a decade)."""
        folder = Path(tempfile.mkdtemp(dir=self.root))
        shutil.copyfile(self.template, folder / "cohortplan.db")
        h = Harness(SqlTestStore(f"sqlite:///{folder}/cohortplan.db", "sqlite"))
        h.ingestor.clock = ClockBounds()
        if not park_timeout:
            h.ingestor.park_timeout = None
        try:
            yield h
        finally:
            h.db.dispose()
            shutil.rmtree(folder, ignore_errors=True)

    def feed(self, h: Harness, lines: list[str], fed: Fed) -> None:
        """Feed one batch; the ingest may lose a delivery-team place only to a human event or with the
        refusal that the ``confirmation.member_refused`` alert reports, and the clock stays within bounds."""
        before = _delivery_places(h)
        fed.note(lines)
        h.feed(*lines)
        with h.db.uow() as uow:
            lost, told = [], {(cohort_id, m["referral_id"]) for cohort_id, members in refusals(uow, REGION).items()
                              for m in members}
            for referral_id, cohort_id in before.items():
                allocation = uow.allocations.get(referral_id)
                referral, cohort = uow.referrals.get(referral_id), uow.cohorts.get(cohort_id)
                if allocation is not None and allocation.source == "DELIVERY":
                    continue  # kept, or placed elsewhere by a later confirmation
                if cohort.status == CohortStatus.CANCELLED or str(referral.status) not in JOINABLE:
                    continue
                if (cohort_id, referral_id) in told:
                    continue  # released because it breaks a rule now: the treatment manager is alerted
                lost.append(f"{referral_id} on {cohort_id} (now {referral.status}, {allocation})")
        assert lost == [], f"the ingest removed places the delivery team made, without a human event: {lost}"
        _within_bounds(h, fed, "after a batch")

    def plan(self, h: Harness, as_of: date, fed: Fed | None = None) -> PlanOutcome:
        """Plan the region and check that the plan was published and the state keeps every invariant."""
        before, sent = _delivery_places(h), len(h.outbox())
        outcome = h.plan(as_of)
        assert outcome.rejected == [], f"the plan as of {as_of} was rejected: {_listed(outcome.rejected)}"
        with h.db.uow() as uow:
            report = check_region(uow, REGION, as_of, h.rules)
        assert report.violations == [], f"after the plan as of {as_of}: {_listed(report.violations)}"
        unalerted = [b for b in report.flagged if b.referral_id not in outcome.alerts.open.get(_alert_for(b), [])]
        assert unalerted == [], f"kept places breaking a rule without an open alert as of {as_of}: {_listed(unalerted)}"
        _delivery_kept(h, before, sent, outcome)
        if fed is not None:
            _within_bounds(h, fed, f"after the plan as of {as_of}")
            _confirmations_honoured(h, fed, outcome)
        return outcome

    def replay(self, h: Harness, batches: Iterable[tuple[date, list[str]]],
               expected: Mapping[str, str] | None = None) -> list[PlanOutcome]:
        """Feed each batch and plan after it; every dead letter must be one the rules allow (``expected``:
        the issue 18 kind of each message that has one)."""
        fed, outcomes = Fed(expected or {}), []
        for as_of, lines in batches:
            if lines:
                self.feed(h, lines, fed)
            outcomes.append(self.plan(h, as_of, fed))
        check_dead_letters(h, fed.expected, fed.span())
        return outcomes

    @staticmethod
    def state(h: Harness) -> dict:
        """The decisions a replay arrived at: each referral's status, place and crn; each cohort's status and,
        unless it was cancelled, its start and facilitators; each allocation's cohort, source and pin."""
        with h.db.uow() as uow:
            return {
                "referrals": {r.referral_id: (str(r.status), r.cohort_id, r.crn) for r in uow.referrals.where()},
                "cohorts": {c.cohort_id: (str(c.status),) if c.status == CohortStatus.CANCELLED else
                            (str(c.status), c.start_date, c.facilitator_ids) for c in uow.cohorts.where()},
                "allocations": {a.referral_id: (a.cohort_id, a.source, a.pinned) for a in uow.allocations.where()},
            }


def check_dead_letters(h: Harness, expected: Mapping[str, str], span: timedelta | None = None) -> None:
    """Every message decodes and names known codes, and is refused only as the rules allow: a message of
    an issue 18 kind as its kind says (one of kind ahead, control, key or limits must be refused so), any
    other only by a handler (never a message dated far behind), as a conflicting copy or an expired wait —
    one no longer than the event time the history spans (``span``, when given)."""
    wrong, due = [], {event_id for event_id, kind in expected.items() if kind in INVALID}
    for letter in h.dead_letters():
        reason, kind = letter["reason"], expected.get(_event_id(letter["raw"]))
        found, waited = _kind_of(reason), WAITED.match(reason)
        if found == kind:
            due.discard(_event_id(letter["raw"]))
        elif waited and span is not None and int(waited.group(1)) > span / timedelta(hours=1) + 1:
            wrong.append(f"{kind or 'valid'} message, waiting longer than the history spans ({span}): {reason}")
        elif found is None or found != "refused" or kind in INVALID or (kind == "behind" and not waited):
            wrong.append(f"{kind or 'valid'} message: {reason}")
    more = " …" if len(wrong) > 4 else ""
    assert wrong == [], f"{len(wrong)} dead letters the rules do not allow: {wrong[:4]}{more}"
    assert due == set(), f"messages that should be dead letters were taken: {sorted(due)}"


def _kind_of(reason: str) -> str | None:
    """The issue 18 kind a dead letter's reason shows, ``refused`` for another allowed one, or None."""
    if UNKNOWN_CODE in reason:
        return None
    for kind, pattern in EXPECTED:
        if pattern.search(reason):
            return kind
    return "refused" if REFUSED.match(reason) else None


def _event_id(raw: str) -> str | None:
    try:
        return json.loads(raw)["event_id"]
    except (ValueError, TypeError, KeyError):
        return None


def _delivery_places(h: Harness) -> dict[str, str]:
    """Referral id → cohort id of every place the delivery team made."""
    with h.db.uow() as uow:
        return {a.referral_id: a.cohort_id for a in uow.allocations.where() if a.source == "DELIVERY"}


def _delivery_kept(h: Harness, before: dict[str, str], sent: int, outcome: PlanOutcome) -> None:
    """No plan removes or moves a place the delivery team made (``before``; ``sent``: outbox rows before)."""
    moved = []
    for row in h.outbox()[sent:]:
        payload = json.loads(row["message"])["payload"]
        if row["event_type"] in MOVES and before.get(payload["referral_id"]) == payload["previous_cohort_id"]:
            moved.append(f"{row['event_type']} {payload['referral_id']}: {payload['reason']}")
    assert moved == [], f"the plan as of {outcome.as_of} moved places the delivery team made: {moved}"
    after = _delivery_places(h)
    named = {part for subjects in outcome.alerts.open.values() for s in subjects for part in s.split("/")}
    lost = [f"{r} on {c}" for r, c in before.items() if after.get(r) != c and r not in named]
    assert lost == [], f"the plan as of {outcome.as_of} lost places the delivery team made, unalerted: {lost}"


def _within_bounds(h: Harness, fed: Fed, when: str) -> None:
    with h.db.uow() as uow:
        clock = event_clock(uow)
    ahead = clock is not None and (fed.latest is None or clock > fed.latest)
    assert not ahead, f"{when}: the event clock {clock} is later than the latest valid event time sent, {fed.latest}"


def _confirmations_honoured(h: Harness, fed: Fed, outcome: PlanOutcome) -> None:
    """Each member of a cohort's latest applied confirmation is placed there, closed, or alerted."""
    if not fed.confirmations:
        return
    refused = set(outcome.alerts.open.get(MEMBER_REFUSED, []))
    with h.db.uow() as uow:
        seen = uow.seen_copies(fed.confirmations)
        latest: dict[str, dict] = {}
        for event_id, body in fed.confirmations.items():
            cohort_id = body["payload"]["cohort_id"]
            if event_id in seen and seen[event_id].outcome == "APPLIED" and (
                    cohort_id not in latest or body["occurred_at"] > latest[cohort_id]["occurred_at"]):
                latest[cohort_id] = body
        unhonoured = []
        for cohort_id, body in sorted(latest.items()):
            cohort = uow.cohorts.get(cohort_id)
            if str(cohort.status) not in UPCOMING | RUNNING or cohort.end_date < outcome.as_of - timedelta(days=7):
                continue
            for referral_id in body["payload"].get("members", []):
                referral = uow.referrals.get(referral_id)
                if referral is not None and (str(referral.status) not in OPEN_REFERRAL or (
                        referral.cohort_id == cohort_id and str(referral.status) in HOLDING_PLACE)):
                    continue
                if f"{cohort_id}/{referral_id}" not in refused:
                    state = f"{referral.status} on {referral.cohort_id}" if referral else "unknown"
                    unhonoured.append(f"{cohort_id}/{referral_id} ({state}; confirmed {body['occurred_at']})")
    assert unhonoured == [], (f"after the plan as of {outcome.as_of}, members of a confirmation neither placed nor "
                              f"alerted ({MEMBER_REFUSED}): {unhonoured}")


def _alert_for(breach) -> str:
    """A kept place that only finishes late is allocation.finishes_late's; any other broken rule place.breaks_rule's."""
    return FINISHES_LATE if breach.rule == Rule.DEADLINE else BREAKS_RULE


def _listed(items) -> str:
    return "; ".join(map(str, items))


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> Engine:
    return Engine(tmp_path_factory.mktemp("generative"))
