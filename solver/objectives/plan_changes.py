"""Soft (tier 3): changes to the published plan, weighted by how public each place already is."""
from __future__ import annotations

from solver.build import Build, Term
from solver.schema import CohortState

PUBLICITY = {CohortState.CANDIDATE: 1, CohortState.OPEN: 3}  # draft < published (frozen is pinned)


def plan_changes(b: Build) -> Term:
    """Soft: Σ publicity weight over people moved off (or removed from) the cohort they hold (changes)."""
    term = Term("plan_changes", 3)
    for demand in b.problem.demands:
        cohort = b.cohorts.get(demand.current_cohort_id or "")
        if cohort is None:
            continue
        weight = PUBLICITY[cohort.state]
        term.constant += weight
        var = b.vars.x.get((demand.referral_id, cohort.cohort_id))
        if var is not None:
            term.add(-weight, var)
    return term
