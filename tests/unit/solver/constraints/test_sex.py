"""sex: women join FEMALE or MIXED groups, men MALE or MIXED; unrecorded sex joins MIXED only."""
from __future__ import annotations

from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

RULE, WITHOUT = only(pair=["sex"]), only()
GROUPS = [make_cohort(cohort_id=sex, sex=sex) for sex in ("FEMALE", "MALE", "MIXED")]


def cohorts_of(person_sex: str, rules) -> set[str]:
    problem = tiny_problem([make_demand(sex=person_sex)], GROUPS)
    return {cid for _, cid in solve_model(problem, rules).placed}


def test_woman_joins_female_and_mixed_groups():
    assert cohorts_of("FEMALE", RULE) == {"FEMALE", "MIXED"}


def test_woman_is_never_placed_in_a_male_group():
    assert "MALE" not in cohorts_of("FEMALE", RULE)
    assert "MALE" in cohorts_of("FEMALE", WITHOUT)


def test_man_joins_male_and_mixed_groups_and_never_a_female_group():
    assert cohorts_of("MALE", RULE) == {"MALE", "MIXED"}
    assert "FEMALE" in cohorts_of("MALE", WITHOUT)


def test_person_of_unrecorded_sex_only_joins_mixed_groups():
    assert cohorts_of("", RULE) == {"MIXED"}
    assert cohorts_of("", WITHOUT) == {"FEMALE", "MALE", "MIXED"}
