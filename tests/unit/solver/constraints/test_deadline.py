"""deadline: a place counts only if the cohort ends on or before the deadline less the margin."""
from __future__ import annotations

from datetime import date

from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

RULE, WITHOUT = only(pair=["deadline"]), only()
END = date(2025, 5, 6)


def placed(deadline: date, rules, **params) -> bool:
    problem = tiny_problem([make_demand(deadline=deadline)], [make_cohort(end_date=END)], **params)
    return solve_model(problem, rules).placed == {("R1", "C1")}


def test_person_joins_a_cohort_ending_exactly_on_the_deadline_less_the_margin():
    assert placed(date(2025, 5, 20), RULE, deadline_margin_days=14)


def test_person_never_joins_a_cohort_ending_a_day_after_the_deadline_less_the_margin():
    assert not placed(date(2025, 5, 19), RULE, deadline_margin_days=14)
    assert placed(date(2025, 5, 19), WITHOUT, deadline_margin_days=14)


def test_without_a_margin_the_cohort_may_end_on_the_deadline_itself():
    assert placed(END, RULE, deadline_margin_days=0)
    assert not placed(END, RULE, deadline_margin_days=1)
