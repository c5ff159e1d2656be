"""Composition root: the one place that picks concrete adapters (database, allocator, calendar)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from engine.alerts.settings import AlertThresholds
from engine.alerts.sinks import AlertSinkSettings, OutboxReaders
from engine.alerts.sweep import AlertSweep
from engine.domain.clock import ClockBounds
from engine.domain.regions import load_group_weekdays, load_region
from engine.domain.rules import EngineRules
from engine.persistence.database import Database, DatabaseUnavailable, queries
from engine.services.candidates import Grid
from engine.services.ingest import Ingestor
from engine.services.planning import Planner
from engine.settings import EngineSettings
from solver import schema as s
from solver.baselines import CurrentPracticeAllocator, FifoAllocator
from solver.model import CpSatAllocator

__all__ = ["ALLOCATORS", "DatabaseUnavailable", "Engine", "bootstrap", "make_allocator"]

ALLOCATORS = ("cpsat", "current-practice", "fifo")


def make_allocator(name: str, settings: EngineSettings | None = None) -> s.Allocator:
    if name == "fifo":
        return FifoAllocator()
    if name == "current-practice":
        return CurrentPracticeAllocator()
    if name == "cpsat":
        settings = settings or EngineSettings()
        return CpSatAllocator(in_process=settings.solver_in_process, niceness=settings.solver_niceness)
    raise ValueError(f"unknown allocator {name!r}; choose one of {', '.join(ALLOCATORS)}")


@dataclass
class Engine:
    settings: EngineSettings
    database: Database
    rules: EngineRules
    ingestor: Ingestor
    alert_sinks: AlertSinkSettings | None = None  # None: from the COHORTPLAN_ALERT_* environment

    def planner(self, allocator: str | None = None) -> Planner:
        return Planner(self.database.uow, make_allocator(allocator or self.settings.allocator, self.settings),
                       self.rules, self.params(), self.grid(), self.settings.replan_time_limit_s,
                       self.alert_sweep())

    def alert_sweep(self) -> AlertSweep:
        return AlertSweep(self.rules, AlertThresholds())

    def outbox_readers(self, embedded: bool = True) -> OutboxReaders:
        """A reader per configured alert sink, each feeding its sink from the outbox through its own cursor.
        Embedded runs keep a JSONL file (``<output_dir>/alerts.jsonl`` unless ``COHORTPLAN_ALERT_JSONL_PATH``
        says otherwise); the service publishes to the alerts topic instead, so it writes the file only when
        that path is set explicitly."""
        settings = self.alert_sinks or AlertSinkSettings()
        if self.alert_sinks is None and "jsonl_path" not in settings.model_fields_set:
            default = self.settings.output_dir / "alerts.jsonl" if embedded else None
            settings = settings.model_copy(update={"jsonl_path": default})
        return OutboxReaders.configured(settings, self.database.uow)

    def params(self, **overrides) -> s.Params:
        x = self.settings
        return s.Params(**{**dict(freeze_days=x.freeze_days, deadline_margin_days=x.deadline_margin_days,
                                  horizon_weeks=x.horizon_weeks, time_limit_s=x.solver_time_limit_s,
                                  workers=x.solver_workers, seed=x.solver_seed,
                                  move_threshold_weeks=x.move_threshold_weeks, max_moves=x.max_moves_per_person,
                                  stability_first=x.stability_first,
                                  equity_weight=x.equity_weight,
                                  equity_gap_points=x.equity_gap_points,
                                  equity_dimensions=tuple(x.equity_dimensions),
                                  equity_trailing_weight=x.equity_trailing_weight,
                                  equity_trailing_points=x.equity_trailing_points,
                                  forecast_open_cost=x.forecast_open_cost,
                                  forecast_move_cost=x.forecast_move_cost,
                                  extra_open_cost=x.extra_open_cost,
                                  extra_move_cost=x.extra_move_cost), **overrides})

    def grid(self) -> Grid:
        return Grid(step_weeks=self.settings.grid_step_weeks, lead_days=self.settings.freeze_days,
                    staffed=self.settings.grid_staffed, stagger=self.settings.grid_stagger,
                    lookahead_weeks=self.settings.lookahead_weeks,
                    evenings_per_week=self.settings.grid_evenings_per_week,
                    rare_at_hard_minimum=self.settings.grid_rare_at_hard_minimum,
                    rare_every_step=self.settings.grid_rare_every_step,
                    group_weekdays=load_group_weekdays(self.settings.region_profile))

    def queries(self):
        return queries(self.database)

    def jobs(self):
        """The jobs table (re-plans, what-ifs and sweeps asked for over the API)."""
        from engine.persistence.jobs import JobStore
        return JobStore(self.database)

    def dead_letter_store(self):
        """The dead letters, for the redrive."""
        from engine.persistence.dead_letters import DeadLetterStore
        return DeadLetterStore(self.database)

    def load_region(self) -> str:
        """Store the region's offices (rooms) from the reference profile; returns the region code."""
        region = load_region(self.settings.region_profile)
        with self.database.uow() as uow:
            uow.save_offices(region.region_code, region.offices)
            uow.commit()
        return region.region_code


def clock_bounds(settings: EngineSettings, wall: bool = False) -> ClockBounds:
    """The event-time bounds from settings; ``wall`` for a service planning as of today."""
    return ClockBounds(wall=wall, skew=timedelta(minutes=settings.clock_skew_minutes),
                       max_jump=timedelta(days=settings.clock_max_jump_days))


def bootstrap(settings: EngineSettings | None = None, run_migrations: bool = True) -> Engine:
    settings = settings or EngineSettings()
    rules = EngineRules(deadline_margin_days=settings.deadline_margin_days, freeze_days=settings.freeze_days)
    database = Database(settings.database_url, run_migrations=run_migrations)
    ingestor = Ingestor(database.uow, rules, park_timeout=timedelta(hours=settings.park_timeout_hours),
                        clock=clock_bounds(settings))
    return Engine(settings, database, rules, ingestor)
