"""Soft (tier 1): a price on groups opened on a forecast, and on pulling people off places they hold into them.

A cohort offered on a forecast (``CohortOption.forecast_joiners`` > 0, the engine's look-ahead for rare
variants) may open with fewer people than its minimum, counting on arrivals. Opened, it pulls people off
places they were told of, and a forecast that falls short leaves a small group later plans re-arrange: on
seed 8 the look-ahead raised changes to published places from 454 to 834 (BENCHMARKS.md, issue 14, session 4).
In tier 1, beside the deadline misses, each such opening costs ``forecast_open_cost`` and each person moved
into one off a place they hold ``forecast_move_cost``, so a forecast group opens only where it saves more
weighted misses than it costs, and fills first from the people who hold nothing.
"""
from __future__ import annotations

from solver.build import Build, Term
from solver.objectives.moves import priced_groups


def forecast(b: Build) -> Term:
    """Soft: forecast_open_cost × forecast cohorts opened + forecast_move_cost × people placed in one while
    holding a place elsewhere (weighted misses)."""
    return priced_groups(b, "forecast", {cid for cid, c in b.cohorts.items() if c.forecast_joiners > 0},
                         b.params.forecast_open_cost, b.params.forecast_move_cost)
