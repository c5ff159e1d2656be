"""absences: a facilitator with an absence during a cohort's run does not run it."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.unit.solver.factories import (
    make_candidate,
    make_demand,
    make_facilitator,
    only,
    solve_model,
    tiny_problem,
)

LINKS = ["max_size", "facilitator_count"]
RULE, WITHOUT = only(staff=["absences"], constraints=LINKS), only(constraints=LINKS)
START, END = date(2025, 2, 4), date(2025, 5, 6)
DAY = timedelta(days=1)


def opened(rules, *absences) -> dict[str, tuple[str, ...]]:
    problem = tiny_problem([make_demand()], [make_candidate(facilitators_required=1, start_date=START, end_date=END)],
                           [make_facilitator(absences=tuple(absences))])
    return solve_model(problem, rules).opened


@pytest.mark.parametrize("absence", [(START - 10 * DAY, START - DAY), (END + DAY, END + 10 * DAY)],
                         ids=["ends the day before the start", "starts the day after the end"])
def test_facilitator_absent_only_outside_the_run_runs_the_cohort(absence):
    assert opened(RULE, absence) == {"K1": ("F1",)}


@pytest.mark.parametrize("absence", [(START - 10 * DAY, START), (END, END + 10 * DAY), (START + 30 * DAY,) * 2],
                         ids=["ends on the start", "starts on the last session", "one day mid-run"])
def test_facilitator_absent_on_any_day_of_the_run_never_runs_it(absence):
    assert opened(RULE, absence) == {}
    assert opened(WITHOUT, absence) == {"K1": ("F1",)}
