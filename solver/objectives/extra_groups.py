"""Soft (tier 1): a price on opening a group the grid offers beyond its budget.

With ``Grid.rare_every_step`` a rare variant (a women's, LDC or BC-H group) is offered starts across the whole
horizon, not only in the first week (``CohortOption.extra``). A plan sees only the people waiting now: it opened
such groups to shorten rare variants' waits and spent evening facilitators whom the next months' arrivals of
common variants needed, and in the closed loop seed 7 started 19 fewer people in time (BENCHMARKS.md, issue 14,
session 12). In tier 1, beside the deadline misses, each such opening costs ``extra_open_cost``, so it opens only
where it saves more weighted misses now than it costs. Each person moved into one off a place they hold costs
``extra_move_cost``: the later starts offered every few weeks let each plan move people to a group a few weeks
sooner, and changes to published places rose up to threefold.
"""
from __future__ import annotations

from solver.build import Build, Term
from solver.objectives.moves import priced_groups


def extra_groups(b: Build) -> Term:
    """Soft: extra_open_cost × cohorts opened that were offered beyond the grid's budget + extra_move_cost × people
    placed in one while holding a place elsewhere (weighted misses)."""
    return priced_groups(b, "extra_groups", {cid for cid, c in b.cohorts.items() if c.extra},
                         b.params.extra_open_cost, b.params.extra_move_cost)
