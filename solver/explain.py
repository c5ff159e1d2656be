"""Why a plan placed each person where it did, and the binding reason for everyone it did not place.

Shared by every allocator that builds a :class:`~solver.build.Build`; the reasons use the planner's
words from :class:`~solver.schema.UnallocatedReason` and name the cohorts behind them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from solver.overrides import placed_by, ruled_out
from solver.rules import Ledger, compatible, group_key, latest_end, most_specific_reason
from solver.schema import (
    Assignment,
    CohortOption,
    CohortState,
    Demand,
    Params,
    Unallocated,
    UnallocatedReason,
)

# When several candidates could have served a person, the blocker a planner can act on comes first.
PRECEDENCE = (UnallocatedReason.NO_FACILITATOR, UnallocatedReason.NO_PLACE, UnallocatedReason.TOO_FEW_WAITING)


def assignment(demand: Demand, cohort: CohortOption, params: Params, how: str) -> Assignment:
    weeks = (cohort.start_date - demand.referred_on).days / 7
    how = placed_by(demand, cohort) or how
    return Assignment(demand.referral_id, cohort.cohort_id,
                      f"{how}: {cohort.cohort_id} at {cohort.office_code} starts {cohort.start_date}, ends "
                      f"{cohort.end_date} by latest end {latest_end(demand, params)} (deadline {demand.deadline}); "
                      f"wait {weeks:.0f} weeks; risk {demand.risk_band}")


def mismatch(demand: Demand, group: Iterable[CohortOption], params: Params, as_of: date) -> Unallocated:
    """Nothing in the person's programme group is compatible: the stage the closest cohort got to, in words
    (or the planner's overrides, when they hold the person out or rule out every cohort they could join)."""
    group = list(group)
    overridden = ruled_out(demand, [c for c in group if compatible(demand, c, params, as_of) is None], as_of)
    if overridden is not None:
        return Unallocated(demand.referral_id, UnallocatedReason.OVERRIDE, overridden)
    reason = most_specific_reason(demand, group, params, as_of) or UnallocatedReason.NO_PLACE
    details = {
        UnallocatedReason.NO_COMPATIBLE_COHORT: f"no joinable {demand.programme_code} {demand.pathway} "
                                                f"cohort for sex {demand.sex}",
        UnallocatedReason.NOT_AVAILABLE: "no matching cohort at a reachable office on available slots",
        UnallocatedReason.NOT_READY: f"ready from {demand.ready_from}, after every matching start",
        UnallocatedReason.NO_COHORT_BEFORE_DEADLINE: f"no matching cohort ends by {latest_end(demand, params)} "
                                                     f"(deadline {demand.deadline})",
        UnallocatedReason.NO_PLACE: "every matching cohort names a non-associated member",
    }
    return Unallocated(demand.referral_id, reason, details[reason])


class Explainer:
    """Reasons for one solved build: ``chosen`` referral → cohort, ``opened`` candidate → facilitators."""

    def __init__(self, b, chosen: Mapping[str, str], opened: Mapping[str, tuple[str, ...]]) -> None:
        self.b, self.chosen, self.opened = b, chosen, opened
        self.ledger = Ledger.of(b.problem.cohorts, opened)
        self.placed: dict[str, int] = {}
        for cid in chosen.values():
            self.placed[cid] = self.placed.get(cid, 0) + 1

    def unallocated(self, demand: Demand) -> Unallocated:
        # every cohort the pair rules allow, with a variable or not (solver.prune leaves out those that never run)
        options = [self.b.cohorts[cid] for cid in self.b.vars.options_of.get(demand.referral_id, ())]
        if not options:
            group = self.b.groups.get(group_key(demand), ((), ()))[0]
            return mismatch(demand, group, self.b.params, self.b.as_of)
        running = [c for c in options if c.state == CohortState.OPEN or c.cohort_id in self.opened]
        if running:
            return Unallocated(demand.referral_id, UnallocatedReason.NO_PLACE,
                               "full or non-associated: " + ", ".join(c.cohort_id for c in running[:5]))
        blockers = [self._blocker(c) for c in options]
        reason, detail = min(blockers, key=lambda blocker: PRECEDENCE.index(blocker[0]))
        return Unallocated(demand.referral_id, reason, detail)

    def _blocker(self, cohort: CohortOption) -> tuple[UnallocatedReason, str]:
        b, cid = self.b, cohort.cohort_id
        head = f"candidate {cid} starting {cohort.start_date}"
        eligible = b.vars.eligible_of.get(cid, ())
        if len(eligible) < cohort.facilitators_required:
            return UnallocatedReason.NO_FACILITATOR, (f"{head}: {len(eligible)} trained facilitator(s) can "
                                                      f"run it, {cohort.facilitators_required} needed")
        free = [f for f in eligible if self.ledger.facilitator_fits(b.facilitators[f], cohort)]
        if len(free) < cohort.facilitators_required:
            return UnallocatedReason.NO_FACILITATOR, (f"{head}: trained facilitators' hours or slots are "
                                                      f"taken by cohorts with more urgent people")
        if not self.ledger.room_free(cohort, b.rooms.get(cohort.office_code, 1)):
            return UnallocatedReason.NO_PLACE, f"{head}: no room free at {cohort.office_code}"
        waiting = sum(1 for rid in b.vars.joinable_of.get(cid, ()) if rid not in self.chosen)
        return UnallocatedReason.TOO_FEW_WAITING, (f"{head}: {waiting + len(cohort.members)} could still "
                                                   f"join, {cohort.min_size} needed")
