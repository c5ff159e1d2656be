"""Hard: a place inside the freeze window is not moved: the person keeps the cohort they hold.

The engine normally turns such people into fixed members; this rule holds the line for any that reach
the solver as demands. Where more people claim a frozen cohort than it has free places, the input has
over-committed the group and the rule is left out for it rather than making every plan impossible.
"""
from __future__ import annotations

from datetime import timedelta

from solver.build import Build


def add_pinned(b: Build) -> None:
    """Hard: a demand holding a place on a running cohort that starts within freeze_days keeps it."""
    frozen_until = b.as_of + timedelta(days=b.params.freeze_days)
    for cid, rids in b.held_places(starting_by=frozen_until).items():
        for rid in rids:
            b.vars.fix(b.vars.x[(rid, cid)], 1)
