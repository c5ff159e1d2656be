"""Hard: the planner's overrides stand — keep this referral on this cohort, never on that one, hold it out of
planning until a date, lock a cohort's membership — unless honouring one would break a safety rule.

Which overrides stand and which are set aside (with the reason) is read by :mod:`solver.overrides`; the
pair rule takes out every place they rule out, and the model constraint puts the kept referrals and a
locked cohort's holders on their cohort whenever it runs.
"""
from __future__ import annotations

from solver.build import Build
from solver.overrides import standing_of
from solver.schema import CohortOption, Demand, Problem


def allows_override(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: no place for a held referral, on a cohort it is never to join, on another cohort than the one it
    is kept on, or on a locked cohort it does not hold (a pair rule)."""
    return standing_of(problem).allows(demand, cohort)


def add_overrides(b: Build) -> None:
    """Hard: x[kept referral, its cohort] = opened(cohort), and the same for a locked cohort's holders
    (people): on a running cohort they hold the place, on a candidate they join it if it opens."""
    for rid, (cid, _) in sorted(standing_of(b.problem).bound_to().items()):
        var = b.vars.x.get((rid, cid))
        if var is not None:  # None only in a model built without the pair rules that admit the place
            b.model.add(var == b.vars.opened(b.cohorts[cid]))
