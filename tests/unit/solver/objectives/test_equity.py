"""equity (tier 1): a group of at least equity_min_group of the people this plan must place may miss up to
equity_gap_points more often than the plan as a whole; each person missed beyond that costs equity_weight."""
from __future__ import annotations

from datetime import date

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from solver.objectives.equity import groups
from tests.unit.solver.factories import (
    URGENT_DEADLINE,
    make_candidate,
    make_cohort,
    make_demand,
    make_problem,
    only,
    solve_model,
    term_value,
    tiny_problem,
)

COHORT = make_cohort(cohort_id="O1", max_size=20)


def _people(prefix: str, count: int, **overrides):
    fields = dict(deadline=URGENT_DEADLINE) | overrides
    return [make_demand(referral_id=f"{prefix}{i:02d}", crn=f"{prefix}{i:03d}", **fields) for i in range(count)]


def _problem(demands, cohorts, **params):
    """A tiny problem with the goal on at weight 3 (it is off by default: BENCHMARKS.md, issue 14 §2)."""
    return tiny_problem(demands, cohorts, **{"equity_weight": 3, **params})


MEN, WOMEN = _people("M", 10, sex="MALE"), _people("W", 10, sex="FEMALE")


@pytest.mark.parametrize("men_placed, women_placed, cost", [
    (10, 10, 0),          # nobody missed
    (0, 0, 0),            # everyone missed alike
    (10, 9, 0),           # women miss 10% against the plan's 5%: within 5 points
    (10, 8, 3 * 1),       # 20% against 10%: ⌈10·(0.2 − 0.1 − 0.05)⌉ = 1 person beyond
    (10, 0, 3 * 5),       # 100% against 50%: 5 − 0.5 … 4.5 people beyond, in whole people 5
    (0, 10, 3 * 5),       # the men are the group behind: the rule has no favourite
])
def test_each_person_missed_beyond_the_plan_rate_and_the_allowance_costs_the_weight(men_placed, women_placed, cost):
    places = [(d.referral_id, "O1") for d in MEN[:men_placed] + WOMEN[:women_placed]]
    assert term_value(_problem(MEN + WOMEN, [COHORT]), "equity", places) == cost


def test_groups_below_the_minimum_size_and_the_whole_plan_are_not_groups():
    few = _people("W", 9, sex="FEMALE")
    assert [name for name, _ in groups(MEN + few, 10)] == ["sex=MALE"]
    assert term_value(_problem(MEN + few, [COHORT]), "equity", [(d.referral_id, "O1") for d in MEN]) == 0


def test_every_dimension_counts_its_own_groups():
    mixed = (_people("A", 10, ldc=True, pdu_code="P1", ethnicity_group="ASIAN")
             + _people("B", 10, ldc=False, pdu_code="P2", ethnicity_group="WHITE"))
    names = [name for name, _ in groups(mixed, 10)]
    assert names == ["ldc=LDC", "ldc=not LDC", "ethnicity=ASIAN", "ethnicity=WHITE", "pdu=P1", "pdu=P2"]
    # The B people all placed, none of the A: three dimensions see the same 5 people beyond, each at 3
    places = [(d.referral_id, "O1") for d in mixed if d.referral_id.startswith("B")]
    assert term_value(_problem(mixed, [COHORT]), "equity", places) == 3 * 5 * 3


def test_people_who_can_wait_past_this_plan_are_not_counted():
    later = _people("W", 10, sex="FEMALE", deadline=date(2027, 1, 1))
    assert term_value(_problem(MEN + later, [COHORT]), "equity", [(d.referral_id, "O1") for d in MEN]) == 0


def test_the_goal_is_off_by_default_and_a_weight_of_zero_turns_it_off():
    problem = tiny_problem(MEN + WOMEN, [COHORT])  # the default: off
    assert term_value(problem, "equity", [(d.referral_id, "O1") for d in MEN]) == 0


def test_with_hours_for_one_more_group_the_plan_opens_the_one_for_the_group_behind():
    """A running men's group has room for 22 of 30 men; hours for one more group: a men's for 8 more or a
    women's for 7 of 10 women. Counting misses alone opens the men's (10 missed, every one a woman);
    with the equity goal the women's — one miss more, 8 men and 3 women, no group beyond the rate."""
    men = _people("M", 30, sex="MALE")
    women = _people("W", 10, sex="FEMALE")
    running = make_cohort(cohort_id="O1", sex="MALE", max_size=22)
    mens = make_candidate(cohort_id="KM", sex="MALE", min_size=6, max_size=8)
    womens = make_candidate(cohort_id="KW", sex="FEMALE", min_size=6, max_size=7)
    rules = dict(pair=["programme", "sex"], constraints=["max_size", "min_size", "one_cohort"])
    problem = _problem(men + women, [running, mens, womens])
    one_more = lambda b: [b.vars.open["KM"] + b.vars.open["KW"] <= 1]  # noqa: E731
    misses_only = _solve_one_of(problem, only(**rules, objectives=["deadline_misses"]), one_more)
    with_equity = _solve_one_of(problem, only(**rules, objectives=["deadline_misses", "equity"]), one_more)
    assert list(misses_only.opened) == ["KM"] and len(misses_only.placed) == 30
    assert list(with_equity.opened) == ["KW"] and len(with_equity.placed) == 29
    assert len(with_equity.members("KW")) == 7


def _solve_one_of(problem, rules, extra):
    def fix(b):
        for constraint in extra(b):
            b.model.add(constraint)
        return []
    return solve_model(problem, rules, fixed=fix)


def test_equity_scores_in_tier_one():
    assert OBJECTIVES["equity"](Build(make_problem())).tier == 1
