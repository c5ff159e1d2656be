"""trained: only facilitators trained in the programme, still in post when the cohort ends, run it."""
from __future__ import annotations

from datetime import date, timedelta

from tests.unit.solver.factories import (
    make_candidate,
    make_demand,
    make_facilitator,
    only,
    solve_model,
    tiny_problem,
)

LINKS = ["max_size", "facilitator_count"]  # a place needs the candidate open, opening needs staff
RULE, WITHOUT = only(staff=["trained"], constraints=LINKS), only(constraints=LINKS)
END = date(2025, 5, 6)


def opened(rules, **facilitator) -> dict[str, tuple[str, ...]]:
    problem = tiny_problem([make_demand()], [make_candidate(facilitators_required=1, end_date=END)],
                           [make_facilitator(**facilitator)])
    return solve_model(problem, rules).opened


def test_trained_facilitator_runs_a_candidate_of_their_programme():
    assert opened(RULE, programmes=frozenset({"BC", "HSP"})) == {"K1": ("F1",)}


def test_facilitator_never_runs_a_programme_they_are_not_trained_in():
    assert opened(RULE, programmes=frozenset({"HSP"})) == {}
    assert opened(WITHOUT, programmes=frozenset({"HSP"})) == {"K1": ("F1",)}


def test_facilitator_in_post_until_the_last_session_runs_it():
    assert opened(RULE, active_until=END) == {"K1": ("F1",)}


def test_facilitator_leaving_the_day_before_the_last_session_never_runs_it():
    assert opened(RULE, active_until=END - timedelta(days=1)) == {}
    assert opened(WITHOUT, active_until=END - timedelta(days=1)) == {"K1": ("F1",)}
