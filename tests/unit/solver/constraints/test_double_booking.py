"""double_booking: a facilitator runs at most one group in any weekly slot, running groups included."""
from __future__ import annotations

from datetime import date, timedelta

from solver.schema import Slot
from tests.unit.solver.factories import (
    make_candidate,
    make_cohort,
    make_facilitator,
    only,
    people,
    solve_model,
    tiny_problem,
)

LINKS = ["max_size", "facilitator_count"]  # places need openings, openings need staff
RULE, WITHOUT = only(constraints=["double_booking", *LINKS]), only(constraints=LINKS)
START = date(2025, 2, 4)
TUESDAY, THURSDAY = Slot(1, "10:00"), Slot(3, "10:00")
BOTH = {"K1": ("F1",), "K2": ("F1",)}


def candidate(cohort_id: str, slot: Slot, start: date = START):
    return make_candidate(cohort_id=cohort_id, slots=(slot,), start_date=start, facilitators_required=1, group_weeks=1)


def opened(rules, cohorts) -> dict[str, tuple[str, ...]]:
    problem = tiny_problem(people(2), cohorts, [make_facilitator(weekly_hours=40)])
    return solve_model(problem, rules).opened


def test_facilitator_runs_two_cohorts_on_different_slots_of_a_week():
    assert opened(RULE, [candidate("K1", TUESDAY), candidate("K2", THURSDAY)]) == BOTH


def test_facilitator_runs_the_same_slot_in_different_weeks():
    assert opened(RULE, [candidate("K1", TUESDAY), candidate("K2", TUESDAY, START + timedelta(weeks=1))]) == BOTH


def test_facilitator_never_runs_two_new_cohorts_in_the_same_slot():
    cohorts = [candidate("K1", TUESDAY), candidate("K2", TUESDAY)]
    assert len(opened(RULE, cohorts)) == 1
    assert opened(WITHOUT, cohorts) == BOTH


def test_facilitator_never_runs_a_new_cohort_in_a_slot_of_a_group_they_already_run():
    running = make_cohort(cohort_id="O1", slots=(TUESDAY,), start_date=START, facilitator_ids=("F1",),
                          max_size=1, members=("M1",))
    assert opened(RULE, [running, candidate("K1", TUESDAY)]) == {}
    assert opened(WITHOUT, [running, candidate("K1", TUESDAY)]) == {"K1": ("F1",)}
