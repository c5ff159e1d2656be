"""staff_availability: a facilitator runs only cohorts at offices they reach, on slots they work."""
from __future__ import annotations

from solver.schema import Period, Slot
from tests.unit.solver.factories import (
    make_candidate,
    make_demand,
    make_facilitator,
    only,
    solve_model,
    tiny_problem,
)

LINKS = ["max_size", "facilitator_count"]
RULE, WITHOUT = only(staff=["staff_availability"], constraints=LINKS), only(constraints=LINKS)
TUESDAY_DAYTIME = frozenset({(1, Period.DAYTIME)})


def opened(rules, slots=(Slot(1, "10:00"),), **facilitator) -> dict[str, tuple[str, ...]]:
    problem = tiny_problem([make_demand()], [make_candidate(facilitators_required=1, office_code="OFF1", slots=slots)],
                           [make_facilitator(**facilitator)])
    return solve_model(problem, rules).opened


def test_facilitator_with_no_offices_or_pattern_recorded_runs_any_cohort():
    assert opened(RULE, offices=frozenset(), availability=frozenset()) == {"K1": ("F1",)}


def test_facilitator_runs_a_cohort_at_an_office_they_reach_on_a_slot_they_work():
    assert opened(RULE, offices=frozenset({"OFF1"}), availability=TUESDAY_DAYTIME) == {"K1": ("F1",)}


def test_facilitator_never_runs_a_cohort_at_an_office_they_cannot_reach():
    assert opened(RULE, offices=frozenset({"OFF2"})) == {}
    assert opened(WITHOUT, offices=frozenset({"OFF2"})) == {"K1": ("F1",)}


def test_facilitator_never_runs_a_cohort_with_a_slot_outside_their_working_pattern():
    slots = (Slot(1, "10:00"), Slot(1, "18:00", Period.EVENING))
    assert opened(RULE, slots, availability=TUESDAY_DAYTIME) == {}
    assert opened(WITHOUT, slots, availability=TUESDAY_DAYTIME) == {"K1": ("F1",)}
