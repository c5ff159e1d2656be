"""Hard: an opened candidate cohort gets exactly its required number of eligible facilitators."""
from __future__ import annotations

from solver.build import Build


def add_facilitator_count(b: Build) -> None:
    """Hard: Σ facilitators staffing a candidate = facilitators required × opened (people)."""
    for cid, opened in b.vars.open.items():
        cohort = b.cohorts[cid]
        staff = [b.vars.staff[(fid, cid)] for fid in b.vars.staff_of.get(cid, ())]
        b.model.add(sum(staff) == cohort.facilitators_required * opened)
