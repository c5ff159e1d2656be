"""Hard: a cohort takes at most its free places (max size less fixed members), and only if it runs."""
from __future__ import annotations

from solver.build import Build


def add_max_size(b: Build) -> None:
    """Hard: Σ places in a cohort ≤ (max size − members) × opened; no place in a cohort that does not run."""
    for cid, rids in b.vars.demands_of.items():
        cohort = b.cohorts[cid]
        places, opened = b.vars.places(cid), b.vars.opened(cohort)
        b.model.add(sum(places) <= max(cohort.free_places, 0) * opened)
        if not isinstance(opened, int):
            for place in places:
                b.model.add_implication(place, opened)
