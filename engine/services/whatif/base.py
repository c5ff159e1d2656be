"""The region as the planner sees it, read once for what-if planning and never written back."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from engine.domain.model import CohortStatus, Office
from engine.domain.rules import EngineRules
from engine.ports import UnitOfWork
from engine.services.candidates import Grid
from engine.services.problem import build_problem, pinned_cohort
from solver import schema as s


@dataclass(frozen=True)
class Base:
    """A region's state as the planner sees it, read once (nothing written) and never changed."""

    problem: s.Problem
    grid_ids: frozenset[str]          # candidates that came from the grid (recomputed by a scenario)
    stored_ids: frozenset[str]        # cohorts the database holds: the grid never re-proposes them
    home_pdu: Mapping[str, str]       # facilitator id → home PDU
    offices: tuple[Office, ...]       # the region's offices (those with group rooms are the grid's venues)
    rules: EngineRules
    grid: Grid | None
    pinned: frozenset[str] = frozenset()  # running cohorts the planner pins (started or frozen: pinned_cohort)

    @property
    def pdus(self) -> tuple[str, ...]:
        return tuple(sorted({o.pdu_code for o in self.offices} | set(self.home_pdu.values())))


def read_base(uow_factory: Callable[[], UnitOfWork], region: str, as_of: date, rules: EngineRules,
              params: s.Params, grid: Grid | None) -> Base:
    """Build the region's problem as the planner would (cohorts moved along their calendars first),
    inside a unit of work that is rolled back: the database is left exactly as it was."""
    with uow_factory() as uow:
        for cohort in uow.cohorts.where(region_code=region, status=[CohortStatus.CONFIRMED, CohortStatus.STARTED]):
            cohort.advance(as_of)  # in memory only, as Planner does before it plans; rolled back below
        snapshot = build_problem(uow, region, as_of, rules, params, grid)
        home = {f.facilitator_id: f.home_pdu for f in uow.facilitators.where(region_code=region)}
        offices = tuple(uow.offices(region))
        pinned = frozenset(cid for cid, c in snapshot.cohorts.items()
                           if c.live and pinned_cohort(c, as_of, params.freeze_days))
        uow.rollback()
    return Base(snapshot.problem, snapshot.grid, frozenset(set(snapshot.cohorts) - snapshot.grid), home,
                offices, rules, grid, pinned)
