"""rooms: an office never has more groups in a slot than it has group rooms (a missing office has one)."""
from __future__ import annotations

from datetime import date

from solver.schema import Slot
from tests.unit.solver.factories import (
    make_candidate,
    make_cohort,
    make_office,
    only,
    people,
    solve_model,
    tiny_problem,
)

LINKS = ["max_size"]  # places need openings
RULE, WITHOUT = only(constraints=["rooms", *LINKS]), only(constraints=LINKS)
START, TUESDAY = date(2025, 2, 4), Slot(1, "10:00")
SAME_SLOT = [make_candidate(cohort_id=cid, slots=(TUESDAY,), start_date=START) for cid in ("K1", "K2")]


def opened(rules, cohorts=SAME_SLOT, offices=()) -> set[str]:
    return set(solve_model(tiny_problem(people(2), cohorts, offices=offices), rules).opened)


def test_office_with_two_rooms_hosts_two_groups_in_one_slot():
    assert opened(RULE, offices=[make_office(rooms=2)]) == {"K1", "K2"}


def test_groups_at_different_offices_share_a_slot():
    cohorts = [SAME_SLOT[0], make_candidate(cohort_id="K2", office_code="OFF2", slots=(TUESDAY,), start_date=START)]
    assert opened(RULE, cohorts, offices=[make_office(rooms=1)]) == {"K1", "K2"}


def test_office_with_one_room_never_hosts_two_groups_in_one_slot():
    assert len(opened(RULE, offices=[make_office(rooms=1)])) == 1
    assert opened(WITHOUT, offices=[make_office(rooms=1)]) == {"K1", "K2"}


def test_office_missing_from_the_problem_has_one_room():
    assert len(opened(RULE, offices=())) == 1


def test_a_running_group_in_the_only_room_keeps_new_groups_out_of_its_slot():
    running = make_cohort(cohort_id="O1", slots=(TUESDAY,), start_date=START, max_size=1, members=("M1",))
    assert opened(RULE, [running, SAME_SLOT[0]], [make_office(rooms=1)]) == set()
    assert opened(WITHOUT, [running, SAME_SLOT[0]], [make_office(rooms=1)]) == {"K1"}
