"""Hard (incremental re-plan): outside the programme × office cells being re-planned, nothing changes."""
from __future__ import annotations

from solver.build import Build


def in_focus(b: Build, cohort_id: str) -> bool:
    cohort = b.cohorts[cohort_id]
    return b.params.focus is None or (cohort.programme_code, cohort.office_code) in b.params.focus


def add_focus(b: Build) -> None:
    """Hard: when params.focus is set, a place in a cohort outside its cells is exactly the published one
    and no candidate outside them opens (an empty focus changes nothing at all)."""
    if b.params.focus is None:
        return
    for (rid, cid), var in b.vars.x.items():
        if not in_focus(b, cid):
            b.vars.fix(var, int(b.demands[rid].current_cohort_id == cid))
    for cid, var in b.vars.open.items():
        if not in_focus(b, cid):
            b.vars.fix(var, 0)
