"""Hard: people with a non-association are never in the same group (either side naming the other)."""
from __future__ import annotations

from solver.build import Build
from solver.rules import conflicts_with_members
from solver.schema import CohortOption, Demand, Problem


def allows_non_association(demand: Demand, cohort: CohortOption, problem: Problem) -> bool:
    """Hard: the newcomer names none of the cohort's fixed members, and none of them names the newcomer
    (a pair rule)."""
    return not conflicts_with_members(demand, cohort)


def add_non_associations(b: Build) -> None:
    """Hard: two non-associated waiting people take at most one place between them in any cohort."""
    flagged = [d for d in b.problem.demands if d.non_associations]
    by_crn: dict[str, list[Demand]] = {}
    for d in b.problem.demands:
        by_crn.setdefault(d.crn, []).append(d)
    pairs = {tuple(sorted((a.referral_id, other.referral_id)))
             for a in flagged for crn in a.non_associations for other in by_crn.get(crn, ())
             if other.referral_id != a.referral_id}
    for first, second in sorted(pairs):
        shared = set(b.vars.cohorts_of.get(first, ())) & set(b.vars.cohorts_of.get(second, ()))
        for cid in sorted(shared):
            b.model.add_at_most_one(b.vars.x[(first, cid)], b.vars.x[(second, cid)])

