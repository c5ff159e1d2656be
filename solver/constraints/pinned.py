"""Hard: a place inside the freeze window is not moved: the person keeps the cohort they hold."""
from __future__ import annotations

from datetime import timedelta

from solver.schema import CohortState


def add_pinned(b) -> None:
    """Hard: a demand holding a place on a running cohort that starts within freeze_days keeps it."""
    frozen_until = b.as_of + timedelta(days=b.params.freeze_days)
    for demand in b.problem.demands:
        cohort = b.cohorts.get(demand.current_cohort_id or "")
        var = b.vars.x.get((demand.referral_id, cohort.cohort_id)) if cohort else None
        if var is not None and cohort.state == CohortState.OPEN and cohort.start_date <= frozen_until:
            b.vars.fix(var, 1)
