"""office: a person is only placed at an office they can reach and are not excluded from."""
from __future__ import annotations

from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

RULE, WITHOUT = only(pair=["office"]), only()
OFFICES = [make_cohort(cohort_id=office, office_code=office) for office in ("OFF1", "OFF2")]


def offices_of(rules, **demand) -> set[str]:
    problem = tiny_problem([make_demand(**demand)], OFFICES)
    return {cid for _, cid in solve_model(problem, rules).placed}


def test_person_with_no_reachable_offices_listed_goes_to_any_office():
    assert offices_of(RULE) == {"OFF1", "OFF2"}


def test_person_goes_to_an_office_they_can_reach():
    assert offices_of(RULE, reachable_offices=frozenset({"OFF2"})) == {"OFF2"}


def test_person_is_never_placed_at_an_office_they_cannot_reach():
    assert "OFF1" not in offices_of(RULE, reachable_offices=frozenset({"OFF2"}))
    assert "OFF1" in offices_of(WITHOUT, reachable_offices=frozenset({"OFF2"}))


def test_an_exclusion_wins_over_a_reachable_office():
    person = dict(reachable_offices=frozenset({"OFF1", "OFF2"}), excluded_offices=frozenset({"OFF1"}))
    assert offices_of(RULE, **person) == {"OFF2"}
    assert offices_of(WITHOUT, **person) == {"OFF1", "OFF2"}
