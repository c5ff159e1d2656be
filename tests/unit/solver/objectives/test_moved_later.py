"""moved_later (tier 3; above waits with stability_first="later"): a person moved off the cohort they hold to one
starting no earlier, or removed from it, costs the publicity of the place they held; a move to an earlier group
costs nothing here (waits decide it)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from solver.build import Build
from solver.model import STABILITY_FIRST, CpSatAllocator, build, tiers
from solver.objectives import OBJECTIVES
from solver.schema import CohortState
from tests.unit.solver.factories import AS_OF, make_cohort, make_demand, make_problem, term_value, tiny_problem

WEEK = timedelta(weeks=1)
SOON = make_cohort(cohort_id="SOON", start_date=AS_OF + 2 * WEEK, end_date=AS_OF + 18 * WEEK)
HELD = make_cohort(cohort_id="HELD", start_date=AS_OF + 10 * WEEK, end_date=AS_OF + 26 * WEEK)
TWIN = make_cohort(cohort_id="TWIN", start_date=AS_OF + 10 * WEEK, end_date=AS_OF + 26 * WEEK)
LATE = make_cohort(cohort_id="LATE", start_date=AS_OF + 30 * WEEK, end_date=AS_OF + 46 * WEEK)
DRAFT = make_cohort(cohort_id="DRAFT", state=CohortState.CANDIDATE, start_date=AS_OF + 10 * WEEK,
                    end_date=AS_OF + 26 * WEEK)
HOLDER = make_demand(referral_id="A", crn="XA", current_cohort_id="HELD", deadline=AS_OF + 150 * WEEK)
DRAFT_HOLDER = make_demand(referral_id="B", crn="XB", current_cohort_id="DRAFT", deadline=AS_OF + 150 * WEEK)
NEWCOMER = make_demand(referral_id="C", crn="XC", deadline=AS_OF + 150 * WEEK)
PROBLEM = tiny_problem([HOLDER, DRAFT_HOLDER, NEWCOMER], [SOON, HELD, TWIN, LATE, DRAFT], stability_first="later")


@pytest.mark.parametrize("places, cost", [
    ([("A", "HELD"), ("B", "DRAFT")], 0),
    ([("A", "SOON"), ("B", "SOON")], 0),        # earlier: the waits' call
    ([("A", "TWIN"), ("B", "DRAFT")], 3),       # same week, another group: no wait gained
    ([("A", "LATE"), ("B", "DRAFT")], 3),
    ([("B", "LATE")], 3 + 1),                   # A's published place taken away; B's draft moved later
    ([("A", "HELD"), ("B", "DRAFT"), ("C", "LATE")], 0),  # someone holding nothing is not a change
])
def test_a_move_no_earlier_or_a_removal_costs_the_publicity_of_the_place_held(places, cost):
    assert term_value(PROBLEM, "moved_later", places) == cost


@pytest.mark.parametrize("mode", ["off", "all"])
def test_empty_unless_only_later_moves_rank_first(mode):
    b = build(make_problem([HOLDER], [HELD, LATE], stability_first=mode))
    term = next(t for t in b.terms if t.name == "moved_later")
    assert (term.coefs, term.constant) == ([], 0)


def test_ranked_between_deadline_misses_and_waits_only_in_its_mode():
    def tier_of(name: str, mode: str) -> float | None:
        by_tier = tiers(build(make_problem([HOLDER], [HELD, LATE], stability_first=mode)))
        return next((tier for tier, terms in by_tier.items() if any(t.name == name for t in terms)), None)
    assert OBJECTIVES["moved_later"](Build(make_problem())).tier == 3
    assert (tier_of("moved_later", "later"), tier_of("plan_changes", "later")) == (STABILITY_FIRST, 3)
    assert (tier_of("moved_later", "all"), tier_of("plan_changes", "all")) == (None, STABILITY_FIRST)  # empty
    assert 1 < STABILITY_FIRST < 2


def _one_place_soon(mode: str):
    """A (referred last week, MEDIUM) holds the one place of a group starting in 4 weeks (past the freeze window);
    B (referred 40 weeks ago, HIGH) waits; the next group starts 20 weeks later. Both finish in time either way."""
    soon = make_cohort(cohort_id="SOON", start_date=AS_OF + 4 * WEEK, end_date=AS_OF + 20 * WEEK, max_size=1)
    later = make_cohort(cohort_id="LATE", start_date=AS_OF + 24 * WEEK, end_date=AS_OF + 40 * WEEK)
    holder = make_demand(referral_id="A", crn="XA", referred_on=AS_OF - WEEK, current_cohort_id="SOON",
                         deadline=AS_OF + 150 * WEEK)
    waiting = make_demand(referral_id="B", crn="XB", referred_on=AS_OF - 40 * WEEK, risk_band="HIGH",
                          deadline=AS_OF + 150 * WEEK)
    return tiny_problem([holder, waiting], [soon, later], stability_first=mode)


def test_a_published_place_is_not_moved_later_to_shorten_someone_elses_wait():
    """By default a cheaper wait elsewhere pays for moving A 20 weeks later; with "later", A keeps the place."""
    allocator = CpSatAllocator()
    assert allocator.allocate(_one_place_soon("off")).cohort_of("A") == "LATE"
    plan = allocator.allocate(_one_place_soon("later"))
    assert (plan.cohort_of("A"), plan.cohort_of("B")) == ("SOON", "LATE")


def test_a_published_place_still_moves_earlier_for_a_shorter_wait():
    """The mode leaves moves to an earlier group to waits: A holds a group 30 weeks out and moves to one in 2."""
    holder = make_demand(referral_id="A", crn="XA", current_cohort_id="LATE", deadline=AS_OF + 150 * WEEK)
    plan = CpSatAllocator().allocate(tiny_problem([holder], [SOON, LATE], stability_first="later"))
    assert plan.cohort_of("A") == "SOON"


def test_an_empty_tier_is_no_stage_so_the_tiers_below_it_are_still_solved():
    """Regression: with "all", tier 3 held only the empty moved_later; its stage ended UNKNOWN on a union grid's
    plan and the lexicographic solve stopped there, never minimising tier 4 (cohorts opened, facilitator hours)."""
    problem = tiny_problem([HOLDER, NEWCOMER], [HELD, LATE], stability_first="all")
    assert 3 not in tiers(build(problem))
    plan = CpSatAllocator().allocate(problem)
    assert plan.status == "OPTIMAL" and "tier4" in plan.objective and "tier3" not in plan.objective
