"""availability: a person is only placed on a cohort whose every weekly slot they can attend."""
from __future__ import annotations

from solver.schema import Period, Slot
from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

RULE, WITHOUT = only(pair=["availability"]), only()
TUESDAY_AND_THURSDAY_DAYTIME = frozenset({(1, Period.DAYTIME), (3, Period.DAYTIME)})


def placed(slots, availability, rules) -> bool:
    problem = tiny_problem([make_demand(availability=availability)], [make_cohort(slots=slots)])
    return solve_model(problem, rules).placed == {("R1", "C1")}


def test_person_with_no_availability_recorded_attends_any_slot():
    assert placed((Slot(1, "18:00", Period.EVENING), Slot(5, "10:00")), frozenset(), RULE)


def test_person_joins_a_cohort_whose_every_slot_they_can_attend():
    assert placed((Slot(1, "10:00"), Slot(3, "14:00")), TUESDAY_AND_THURSDAY_DAYTIME, RULE)


def test_person_is_never_placed_on_a_cohort_with_one_slot_on_a_day_they_cannot_attend():
    slots = (Slot(1, "10:00"), Slot(4, "10:00"))
    assert not placed(slots, TUESDAY_AND_THURSDAY_DAYTIME, RULE)
    assert placed(slots, TUESDAY_AND_THURSDAY_DAYTIME, WITHOUT)


def test_daytime_availability_does_not_cover_an_evening_slot_on_the_same_day():
    slots = (Slot(1, "18:00", Period.EVENING),)
    assert not placed(slots, TUESDAY_AND_THURSDAY_DAYTIME, RULE)
    assert placed(slots, TUESDAY_AND_THURSDAY_DAYTIME, WITHOUT)
