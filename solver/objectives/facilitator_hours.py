"""Soft (tier 4): facilitator hours committed to new cohorts."""
from __future__ import annotations

from solver.build import Build, Term


def facilitator_hours(b: Build) -> Term:
    """Soft: Σ over staffed candidates of weekly hours × load weeks (hours, rounded per assignment)."""
    term = Term("facilitator_hours", 4)
    for (fid, cid), var in b.vars.staff.items():
        cohort = b.cohorts[cid]
        term.add(round(cohort.facilitator_weekly_hours * len(cohort.load_weeks)), var)
    return term
