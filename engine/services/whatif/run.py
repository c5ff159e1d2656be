"""What-if entry points for callers holding an :class:`~engine.bootstrap.Engine` (CLI, HTTP API): the region
and date resolved, the database read once, nothing written."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from engine.services.whatif.base import Base, read_base
from engine.services.whatif.compare import Comparison, SolveProgress, compare
from engine.services.whatif.scenario import Scenario, WhatIfError
from engine.services.whatif.sweep import Sweep, sweep_fte
from solver import schema as s

if TYPE_CHECKING:
    from engine.bootstrap import Engine


def resolve_region(engine: Engine, region: str | None) -> str:
    """The given region if the database knows it; else the only region it knows."""
    known = engine.planner("fifo").known_regions()
    if region is not None:
        if known and region not in known:
            raise WhatIfError(f"--region: unknown region {region!r}; valid regions: {', '.join(known)}")
        return region
    if len(known) != 1:
        raise WhatIfError("--region is needed: " + (f"the database holds {', '.join(known)}" if known
                                                     else "the database holds no region yet (replay events first)"))
    return known[0]


def _engine_base(engine: Engine, region: str | None, as_of: date | None, time_limit_s: float | None,
                 allocator: str) -> tuple[Base, s.Allocator]:
    """The region's base as of the given date (default: its last plan, else today) and the named allocator."""
    from engine.bootstrap import make_allocator
    region = resolve_region(engine, region)
    day = as_of or engine.planner("fifo").last_planned(region) or date.today()
    params = engine.params(**({"time_limit_s": time_limit_s} if time_limit_s else {}))
    try:
        chosen = make_allocator(allocator, engine.settings)
    except ValueError as exc:
        raise WhatIfError(str(exc)) from None
    return read_base(engine.database.uow, region, day, engine.rules, params, engine.grid()), chosen


def run_whatif(engine: Engine, scenario: Scenario, region: str | None = None, as_of: date | None = None,
               allocator: str = "cpsat", time_limit_s: float | None = 5.0,
               progress: SolveProgress | None = None) -> Comparison:
    """Baseline vs scenario for a region (default: the only one) as of a date (default: its last plan).
    Reads the database once and writes nothing."""
    base, chosen = _engine_base(engine, region, as_of, time_limit_s, allocator)
    return compare(base, scenario, chosen, progress)


def run_sweep(engine: Engine, target_miss_pct: float, pdus: Sequence[str] = (), max_fte: int = 10,
              scenario: Scenario | None = None, region: str | None = None, as_of: date | None = None,
              allocator: str = "cpsat", time_limit_s: float | None = 5.0,
              progress: SolveProgress | None = None) -> Sweep:
    """:func:`~engine.services.whatif.sweep.sweep_fte` for a region and date chosen as by :func:`run_whatif`.
    Reads the database once and writes nothing."""
    base, chosen = _engine_base(engine, region, as_of, time_limit_s, allocator)
    return sweep_fte(base, chosen, target_miss_pct, pdus, max_fte, scenario, progress)
