"""What the generative tests share: a fresh engine per example, replaying, and the checks after every plan."""
from __future__ import annotations

import re
import shutil
import tempfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

import pytest

from engine.alerts.rules.allocation_finishes_late import KIND as FINISHES_LATE
from engine.alerts.rules.place_breaks_rule import KIND as BREAKS_RULE
from engine.domain.model import CohortStatus
from engine.domain.placement import Rule
from engine.invariants import check_region
from engine.persistence.database import Database
from engine.ports import CONFLICT_REASON, EXPIRED_REASON
from engine.services.planning import PlanOutcome
from tests.unit.engine.harness import Harness

REGION = "RS"
# Dead letters the rules allow for valid input: an event a handler refused, a conflicting copy, an expired wait.
# Anything else (bad JSON, an invalid envelope or payload, a wrong key) or an unknown code means the generator
# sent what no upstream system may send.
REFUSED = re.compile(rf"^[a-z_]+\.[a-z_]+ rejected: |^{CONFLICT_REASON}|^{EXPIRED_REASON}")
UNKNOWN_CODE = "is not a known"


class Engine:
    """Fresh engines on throwaway SQLite files, replays of event batches, and the invariants after every plan."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "migrated.db"  # migrated once; each engine starts from a copy (4x faster)
        Database(f"sqlite:///{self.template}").dispose()

    @contextmanager
    def fresh(self, park_timeout: bool = True) -> Iterator[Harness]:
        folder = Path(tempfile.mkdtemp(dir=self.root))
        shutil.copyfile(self.template, folder / "cohortplan.db")
        h = Harness(f"sqlite:///{folder}/cohortplan.db")
        if not park_timeout:
            h.ingestor.park_timeout = None
        try:
            yield h
        finally:
            h.db.dispose()
            shutil.rmtree(folder, ignore_errors=True)

    def plan(self, h: Harness, as_of: date) -> PlanOutcome:
        """Plan the region and check that the plan was published and the state keeps every invariant."""
        outcome = h.plan(as_of)
        assert outcome.rejected == [], f"the plan as of {as_of} was rejected: {_listed(outcome.rejected)}"
        with h.db.uow() as uow:
            report = check_region(uow, REGION, as_of, h.rules)
        assert report.violations == [], f"after the plan as of {as_of}: {_listed(report.violations)}"
        unalerted = [b for b in report.flagged if b.referral_id not in outcome.alerts.open.get(_alert_for(b), [])]
        assert unalerted == [], f"kept places breaking a rule without an open alert as of {as_of}: {_listed(unalerted)}"
        return outcome

    def replay(self, h: Harness, batches: Iterable[tuple[date, list[str]]]) -> list[PlanOutcome]:
        """Feed each batch and plan after it; every message must decode and name known codes."""
        outcomes = []
        for as_of, lines in batches:
            if lines:
                h.feed(*lines)
            outcomes.append(self.plan(h, as_of))
        malformed = [d["reason"] for d in h.dead_letters() if _malformed(d["reason"])]
        assert malformed == [], f"the generator sent messages no upstream system may send: {malformed}"
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


def _alert_for(breach) -> str:
    """A kept place that only finishes late is allocation.finishes_late's; any other broken rule place.breaks_rule's."""
    return FINISHES_LATE if breach.rule == Rule.DEADLINE else BREAKS_RULE


def _malformed(reason: str) -> bool:
    return not REFUSED.match(reason) or UNKNOWN_CODE in reason


def _listed(items) -> str:
    return "; ".join(map(str, items))


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> Engine:
    return Engine(tmp_path_factory.mktemp("generative"))
