"""deadline_misses (tier 1): people who must start within this plan to finish in time and are not placed,
weighted 3/2/1 by risk band plus one when their latest end is within 26 weeks."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from solver.build import Build
from solver.objectives import OBJECTIVES
from solver.objectives.deadline_misses import miss_weight
from solver.schema import Params
from tests.unit.solver.factories import (AS_OF, URGENT_DEADLINE, make_cohort, make_demand, make_problem, only, solve_model, term_value,
                                        tiny_problem)

# As of 2025-01-06 the urgent horizon (26 weeks) ends on 2025-07-07; the default margin is 14 days.
LAST_URGENT_DEADLINE, FIRST_CALM_DEADLINE = date(2025, 7, 21), date(2025, 7, 22)


@pytest.mark.parametrize("risk, deadline, weight", [
    ("HIGH", LAST_URGENT_DEADLINE, 4), ("HIGH", FIRST_CALM_DEADLINE, 3),
    ("MEDIUM", LAST_URGENT_DEADLINE, 3), ("MEDIUM", FIRST_CALM_DEADLINE, 2),
    ("LOW", LAST_URGENT_DEADLINE, 2), ("LOW", FIRST_CALM_DEADLINE, 1),
    ("", LAST_URGENT_DEADLINE, 2), ("", FIRST_CALM_DEADLINE, 1),
])
def test_miss_weight_is_three_two_one_by_risk_band_plus_one_when_urgent(risk, deadline, weight):
    assert miss_weight(make_demand(risk_band=risk, deadline=deadline), Params(), AS_OF) == weight


def test_miss_weight_urgency_reads_the_latest_end_after_the_margin():
    assert miss_weight(make_demand(deadline=date(2025, 7, 7)), Params(deadline_margin_days=0), AS_OF) == 3
    assert miss_weight(make_demand(deadline=date(2025, 7, 8)), Params(deadline_margin_days=0), AS_OF) == 2


# A: HIGH, urgent (weight 4); B: LOW, calm but must start in this plan (1); C: deferrable (ignored);
# D: a programme with no cohort at all (MEDIUM, calm: 2, a constant since no place is possible).
COHORT = make_cohort(cohort_id="O1", end_date=date(2025, 12, 1))
DEMANDS = [make_demand(referral_id="A", risk_band="HIGH", deadline=LAST_URGENT_DEADLINE),
           make_demand(referral_id="B", risk_band="LOW", deadline=date(2025, 10, 1)),
           make_demand(referral_id="C", risk_band="HIGH", deadline=date(2027, 1, 1)),
           make_demand(referral_id="D", programme_code="HSP")]
PROBLEM = tiny_problem(DEMANDS, [COHORT])


@pytest.mark.parametrize("placed, misses", [
    ((), 4 + 1 + 2), (("A",), 1 + 2), (("A", "B"), 2), (("C",), 4 + 1 + 2), (("A", "B", "C"), 2),
])
def test_each_unplaced_person_who_cannot_wait_costs_their_weight(placed, misses):
    places = [(rid, "O1") for rid in placed]
    assert term_value(PROBLEM, "deadline_misses", places, pair=["programme"]) == misses


def test_deferral_starts_the_day_after_the_last_cohort_end_of_the_group():
    on_the_end = make_demand(referral_id="E", deadline=date(2025, 12, 15))   # latest end 2025-12-01
    a_day_later = make_demand(referral_id="F", deadline=date(2025, 12, 16))
    build = Build(make_problem([on_the_end, a_day_later], [COHORT]))
    assert (build.deferrable(on_the_end), build.deferrable(a_day_later)) == (False, True)
    assert term_value(tiny_problem([on_the_end, a_day_later], [COHORT]), "deadline_misses") == 2


def test_deadline_misses_score_in_tier_one():
    assert OBJECTIVES["deadline_misses"](Build(make_problem())).tier == 1


def test_a_person_of_a_trailing_group_weighs_their_equity_weight_more():
    calm = make_demand(risk_band="LOW", deadline=FIRST_CALM_DEADLINE)
    assert miss_weight(calm, Params(), AS_OF) == 1
    assert miss_weight(replace(calm, equity_weight=2), Params(), AS_OF) == 3
    weighted = [replace(d, equity_weight=2) if d.referral_id == "B" else d for d in DEMANDS]
    assert term_value(tiny_problem(weighted, [COHORT]), "deadline_misses", [("A", "O1")], pair=["programme"]) == 3 + 2


@pytest.mark.parametrize("weighted", ["P", "Q"])
def test_with_one_place_left_the_plan_places_the_person_of_the_trailing_group(weighted):
    pair = [make_demand(referral_id=rid, crn=f"X{rid}", risk_band="LOW", deadline=URGENT_DEADLINE,
                        equity_weight=2 if rid == weighted else 0) for rid in ("P", "Q")]
    outcome = solve_model(tiny_problem(pair, [make_cohort(cohort_id="O1", max_size=1)]),
                          only(constraints=["one_cohort", "max_size"], objectives=["deadline_misses"]))
    assert outcome.placed == {(weighted, "O1")}
