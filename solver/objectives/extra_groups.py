"""Soft (tier 1): a price on opening a group the grid offers beyond its budget.

With ``Grid.rare_every_step`` a rare variant (a women's, LDC or BC-H group) is offered starts across the whole
horizon, not only in the first week (``CohortOption.extra``). A plan sees only the people waiting now: it opened
such groups to shorten rare variants' waits and spent evening facilitators whom the next months' arrivals of
common variants needed, and in the closed loop seed 7 started 19 fewer people in time (BENCHMARKS.md, issue 14,
session 12). In tier 1, beside the deadline misses, each such opening costs ``extra_open_cost``, so it opens only
where it saves more weighted misses now than it costs.
"""
from __future__ import annotations

from solver.build import Build, Term


def extra_groups(b: Build) -> Term:
    """Soft: extra_open_cost × cohorts opened that were offered beyond the grid's budget (weighted misses)."""
    term = Term("extra_groups", 1)
    cost = b.params.extra_open_cost
    if cost <= 0:
        return term
    for cid in sorted(cid for cid, c in b.cohorts.items() if c.extra and cid in b.vars.open):
        term.add(cost, b.vars.open[cid])
    return term
