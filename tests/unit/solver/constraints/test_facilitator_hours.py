"""facilitator_hours: a facilitator's weekly hours (delivery + preparation) are never exceeded in any week."""
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
RULE, WITHOUT = only(constraints=["facilitator_hours", *LINKS]), only(constraints=LINKS)
START = date(2025, 2, 4)


def candidate(cohort_id: str, weekday: int, hours: float = 7.0, start: date = START):
    """A one-facilitator candidate with one load week; the two weekdays never clash on a slot."""
    return make_candidate(cohort_id=cohort_id, slots=(Slot(weekday, "10:00"),), facilitators_required=1,
                          facilitator_weekly_hours=hours, start_date=start, group_weeks=1)


def opened(rules, cohorts, weekly_hours: float) -> dict[str, tuple[str, ...]]:
    problem = tiny_problem(people(2), cohorts, [make_facilitator(weekly_hours=weekly_hours)])
    return solve_model(problem, rules).opened


def test_facilitator_runs_two_cohorts_in_a_week_when_their_hours_fill_the_contract_exactly():
    assert opened(RULE, [candidate("K1", 1), candidate("K2", 3)], weekly_hours=14) == {"K1": ("F1",), "K2": ("F1",)}


def test_fractional_hours_add_up_exactly():
    cohorts = [candidate("K1", 1, hours=3.5), candidate("K2", 3, hours=3.5)]
    assert opened(RULE, cohorts, weekly_hours=7) == {"K1": ("F1",), "K2": ("F1",)}


def test_facilitator_never_runs_cohorts_adding_up_to_more_than_their_weekly_hours():
    cohorts = [candidate("K1", 1), candidate("K2", 3)]
    assert len(opened(RULE, cohorts, weekly_hours=10)) == 1
    assert opened(WITHOUT, cohorts, weekly_hours=10) == {"K1": ("F1",), "K2": ("F1",)}


def test_the_same_hours_in_different_weeks_fit():
    cohorts = [candidate("K1", 1), candidate("K2", 3, start=START + timedelta(weeks=1))]
    assert opened(RULE, cohorts, weekly_hours=10) == {"K1": ("F1",), "K2": ("F1",)}


def test_hours_on_a_running_cohort_count_against_the_week():
    running = make_cohort(cohort_id="O1", slots=(Slot(3, "10:00"),), start_date=START, facilitator_ids=("F1",),
                          facilitator_weekly_hours=7.0, max_size=1, members=("M1",))
    assert opened(RULE, [running, candidate("K1", 1)], weekly_hours=10) == {}
    assert opened(WITHOUT, [running, candidate("K1", 1)], weekly_hours=10) == {"K1": ("F1",)}


def test_facilitator_over_their_hours_on_running_groups_only_keeps_themselves_off_new_cohorts():
    running = [make_cohort(cohort_id=cid, slots=(Slot(day, "14:00"),), start_date=START, facilitator_ids=("F1",),
                           facilitator_weekly_hours=7.0, max_size=1, members=("M1",))
               for cid, day in (("O1", 2), ("O2", 4))]  # 14 h in the week against a 10 h contract
    staff = [make_facilitator(facilitator_id="F1", weekly_hours=10), make_facilitator(facilitator_id="F2")]
    problem = tiny_problem(people(2), [*running, candidate("K1", 1)], staff)
    assert solve_model(problem, RULE).opened == {"K1": ("F2",)}
