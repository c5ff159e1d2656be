"""What-if planning: re-plan a copy of a region's state with changed capacity or demand, and compare.

The region is read once, inside a unit of work that is rolled back (nothing is written, nothing reaches
the outbox), into the allocator's plain-data :class:`~solver.schema.Problem` (:mod:`.base`). A
:class:`Scenario` (:mod:`.scenario`) is applied to a copy of that problem (:mod:`.apply`, with the staff
changes in :mod:`.staff`): facilitators added or removed per PDU, an evening track, a venue opened, demand
scaled. The baseline and the scenario are solved by the same allocator with the same parameters and
measured the same way (:mod:`.compare`); :mod:`.sweep` searches for the fewest added FTE that bring
misses under a target.

Entry points for callers holding an :class:`~engine.bootstrap.Engine` (CLI, HTTP API):
:func:`run_whatif` and :func:`run_sweep` (:mod:`.run`); the pure parts (:func:`apply_scenario`,
:func:`measure`, :func:`compare`, :func:`sweep_fte`) take a :class:`Base` and an allocator.
"""
from engine.services.whatif.apply import apply_scenario
from engine.services.whatif.base import Base, read_base
from engine.services.whatif.compare import compare, measure
from engine.services.whatif.run import run_sweep, run_whatif
from engine.services.whatif.scenario import Scenario, WhatIfError, parse_counts, parse_venues
from engine.services.whatif.sweep import split_fte, sweep_fte

__all__ = [
    "Base", "Scenario", "WhatIfError", "apply_scenario", "compare", "measure", "parse_counts", "parse_venues",
    "read_base", "run_sweep", "run_whatif", "split_fte", "sweep_fte",
]
