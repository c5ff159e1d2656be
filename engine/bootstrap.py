"""Composition root: the one place that picks concrete adapters (database, allocator, calendar)."""
from __future__ import annotations

from dataclasses import dataclass

from engine.domain.regions import load_region
from engine.handlers.context import EngineRules
from engine.persistence.database import Database, DatabaseUnavailable, queries
from engine.services.ingest import Ingestor
from engine.services.planning import Planner
from engine.settings import EngineSettings
from solver import schema as s
from solver.baselines import CurrentPracticeAllocator, FifoAllocator

__all__ = ["ALLOCATORS", "DatabaseUnavailable", "Engine", "bootstrap", "make_allocator"]

ALLOCATORS = {"fifo": FifoAllocator, "current-practice": CurrentPracticeAllocator}


def make_allocator(name: str) -> s.Allocator:
    try:
        return ALLOCATORS[name]()
    except KeyError:
        raise ValueError(f"unknown allocator {name!r}; choose one of {', '.join(ALLOCATORS)}") from None


@dataclass
class Engine:
    settings: EngineSettings
    database: Database
    rules: EngineRules
    ingestor: Ingestor

    def planner(self, allocator: str | None = None) -> Planner:
        params = s.Params(freeze_days=self.settings.freeze_days,
                          deadline_margin_days=self.settings.deadline_margin_days,
                          horizon_weeks=self.settings.horizon_weeks)
        return Planner(self.database.uow, make_allocator(allocator or self.settings.allocator), self.rules, params)

    def queries(self):
        return queries(self.database)

    def load_region(self) -> str:
        """Store the region's offices (rooms) from the reference profile; returns the region code."""
        region = load_region(self.settings.region_profile)
        with self.database.uow() as uow:
            uow.save_offices(region.region_code, region.offices)
            uow.commit()
        return region.region_code


def bootstrap(settings: EngineSettings | None = None) -> Engine:
    settings = settings or EngineSettings()
    rules = EngineRules(deadline_margin_days=settings.deadline_margin_days, freeze_days=settings.freeze_days)
    database = Database(settings.database_url)
    return Engine(settings, database, rules, Ingestor(database.uow, rules))
