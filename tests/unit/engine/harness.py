"""A real engine on a store (in memory unless a test passes another): feed wire events, plan, look at the state."""
from __future__ import annotations

from datetime import date, timedelta

from engine.domain.clock import ClockBounds
from engine.domain.rules import EngineRules
from engine.services.ingest import BatchResult, Ingestor, RawEvent
from engine.services.planning import PlanOutcome, Planner
from solver.baselines import CurrentPracticeAllocator
from tests.support.stores import MemoryTestStore, SqlTestStore


class Harness:
    def __init__(self, store: MemoryTestStore | SqlTestStore | None = None) -> None:
        self.db = store or MemoryTestStore()
        self.rules = EngineRules()
        # Tests feed sparse histories (months between two events), so the event clock may jump a decade here.
        self.ingestor = Ingestor(self.db.uow, self.rules, clock=ClockBounds(max_jump=timedelta(days=3650)))

    def feed(self, *lines: str) -> BatchResult:
        return self.ingestor.process([RawEvent(line, "test", n) for n, line in enumerate(lines, start=1)])

    def plan(self, as_of: date, region: str = "RS") -> PlanOutcome:
        return Planner(self.db.uow, CurrentPracticeAllocator(), self.rules).plan(region, as_of)

    def referral(self, referral_id: str):
        with self.db.uow() as uow:
            return uow.referrals.get(referral_id)

    def allocation(self, referral_id: str):
        with self.db.uow() as uow:
            return uow.allocations.get(referral_id)

    def outbox(self, event_type: str | None = None) -> list[dict]:
        return [r for r in self.db.outbox() if event_type is None or r["event_type"] == event_type]

    def dead_letters(self) -> list[dict]:
        return self.db.dead_letters(1000)

    def state(self) -> dict:
        """The canonical state export (equal state, equal export)."""
        return self.db.state()
