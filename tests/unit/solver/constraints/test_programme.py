"""programme: a person only joins a cohort of their programme, pathway, offence cohort and LDC variant."""
from __future__ import annotations

import pytest

from tests.unit.solver.factories import make_cohort, make_demand, only, solve_model, tiny_problem

RULE, WITHOUT = only(pair=["programme"]), only()

OTHER_GROUPS = {
    "programme": dict(programme_code="HSP"),
    "pathway": dict(pathway="HIGH"),
    "offence cohort": dict(offence_cohort="SEXUAL_OFFENCE"),
    "LDC variant": dict(ldc=True),
}


def test_person_joins_a_cohort_of_their_own_programme_group():
    problem = tiny_problem([make_demand()], [make_cohort()])
    assert solve_model(problem, RULE).placed == {("R1", "C1")}


@pytest.mark.parametrize("other", OTHER_GROUPS.values(), ids=OTHER_GROUPS.keys())
def test_person_never_joins_a_cohort_that_differs_in_programme_pathway_offence_cohort_or_ldc(other):
    problem = tiny_problem([make_demand()], [make_cohort(), make_cohort(cohort_id="C2", **other)])
    assert solve_model(problem, RULE).placed == {("R1", "C1")}
    assert solve_model(problem, WITHOUT).placed == {("R1", "C1"), ("R1", "C2")}
