"""solver.prune: variables a hard rule fixes to 0 on the running groups' claims are never created — and the
pruned model has exactly the plans of the full one.

Exactness is shown directly: every variable the pruning leaves out, forced to 1 in the full model, makes it
infeasible; and on random small problems the full and the pruned model reach the same optimum.
"""
from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from ortools.sat.python import cp_model

from solver.constraints import CONSTRAINTS
from solver.model import Rules, build, model_size
from solver.schema import Slot
from tests.unit.solver.factories import (
    make_candidate,
    make_cohort,
    make_facilitator,
    make_office,
    people,
    tiny_problem,
)
from tests.unit.solver.test_baselines_property import problems

START, TUESDAY, THURSDAY = date(2025, 2, 4), Slot(1, "10:00"), Slot(3, "10:00")


def running(cohort_id: str = "O1", slot: Slot = TUESDAY, facilitators=("F1",), hours: float = 7.0):
    """A full running group: it claims its facilitators' slot and hours, and its office's room."""
    return make_cohort(cohort_id=cohort_id, slots=(slot,), start_date=START, facilitator_ids=facilitators,
                       facilitator_weekly_hours=hours, max_size=1, members=("M1",))


def candidate(slot: Slot = TUESDAY, **overrides):
    return make_candidate(slots=(slot,), start_date=START, facilitators_required=1, group_weeks=1, **overrides)


def staff(*ids: str, hours: float = 40.0):
    return [make_facilitator(facilitator_id=fid, weekly_hours=hours) for fid in ids]


def two_rooms(demands, cohorts, facilitators):
    """A problem whose office has a room beside the running group's."""
    return tiny_problem(demands, cohorts, facilitators, [make_office(rooms=2)])


def pruned_and_full(problem, rules: Rules | None = None):
    return build(problem, rules, prune=True), build(problem, rules, prune=False)


def test_a_facilitator_running_a_group_in_the_slot_gets_no_staffing_on_it():
    pruned, full = pruned_and_full(two_rooms(people(2), [running(), candidate()], staff("F1", "F2")))
    assert set(full.vars.staff) == {("F1", "K1"), ("F2", "K1")}
    assert set(pruned.vars.staff) == {("F2", "K1")}
    assert "K1" in pruned.vars.open


def test_a_facilitator_without_the_hours_beside_their_running_groups_gets_no_staffing():
    problem = two_rooms(people(2), [running(slot=THURSDAY), candidate()], staff("F1", "F2", hours=10))
    pruned, _ = pruned_and_full(problem)
    assert set(pruned.vars.staff) == {("F2", "K1")}


def test_a_candidate_nobody_free_can_run_has_no_variables_at_all():
    pruned, full = pruned_and_full(two_rooms(people(2), [running(), candidate()], staff("F1")))
    assert ("R01", "K1") in full.vars.x and "K1" in full.vars.open
    assert "K1" not in pruned.vars.open and not pruned.vars.staff
    assert all(cid == "O1" for _, cid in pruned.vars.x)
    assert pruned.vars.options_of["R01"] == full.vars.options_of["R01"]  # the explanations still see it
    assert model_size(pruned) == model_size(full)


def test_a_candidate_in_a_room_the_running_groups_fill_never_opens():
    cohorts = [running(facilitators=("F9",)), candidate()]
    pruned, _ = pruned_and_full(tiny_problem(people(2), cohorts, staff("F1"), [make_office(rooms=1)]))
    assert "K1" not in pruned.vars.open
    pruned, _ = pruned_and_full(tiny_problem(people(2), cohorts, staff("F1"), [make_office(rooms=2)]))
    assert "K1" in pruned.vars.open


def test_a_candidate_fewer_people_can_join_than_its_minimum_never_opens():
    pruned, _ = pruned_and_full(tiny_problem(people(2), [candidate(min_size=3)], staff("F1")))
    assert "K1" not in pruned.vars.open
    pruned, _ = pruned_and_full(tiny_problem(people(3), [candidate(min_size=3)], staff("F1")))
    assert "K1" in pruned.vars.open


def test_nothing_is_pruned_for_a_rule_that_is_not_built():
    problem = two_rooms(people(2), [running(), candidate()], staff("F1"))
    without = {name: rule for name, rule in CONSTRAINTS.items() if name != "double_booking"}
    pruned = build(problem, Rules(constraints=without), prune=True)
    assert set(pruned.vars.staff) == {("F1", "K1")}
    assert build(problem, Rules(constraints={}), prune=True).vars.pruned == 0


def test_small_models_are_not_pruned_by_default():
    """The default region's model stays exactly as it was (its plans, the demo's and the closed loop's)."""
    b = build(two_rooms(people(2), [running(), candidate()], staff("F1")))
    assert b.vars.pruned == 0 and "K1" in b.vars.open


def left_out(pruned, full) -> list[cp_model.IntVar]:
    """The full model's variables that the pruned one does not have."""
    return ([var for key, var in full.vars.x.items() if key not in pruned.vars.x]
            + [var for key, var in full.vars.open.items() if key not in pruned.vars.open]
            + [var for key, var in full.vars.staff.items() if key not in pruned.vars.staff])


def status(b, extra=None, objective=None) -> tuple[str, float | None]:
    if extra is not None:
        b.model.add(extra == 1)
    if objective is not None:
        b.model.minimize(objective(b))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10
    code = solver.solve(b.model)
    # the objective is integral; CP-SAT's float for it may differ in the last bit between two equal optima
    return solver.status_name(code), (round(solver.objective_value) if objective and code == cp_model.OPTIMAL
                                      else None)


def test_every_variable_left_out_is_zero_in_every_plan_of_the_full_model():
    problem = tiny_problem(people(3), [running(), running("O2", THURSDAY, ("F2",), hours=30), candidate(),
                                       candidate(slot=THURSDAY, cohort_id="K2"), candidate(cohort_id="K3",
                                                                                           min_size=4)],
                           staff("F1", "F2", "F3", hours=35), [make_office(rooms=2)])
    pruned, full = pruned_and_full(problem)
    assert pruned.vars.pruned == len(left_out(pruned, full)) > 0
    for index in range(len(left_out(pruned, full))):
        _, fresh = pruned_and_full(problem)
        assert status(fresh, extra=left_out(pruned, fresh)[index])[0] == "INFEASIBLE"


def every_goal(b):
    return sum((term.expr() for term in b.terms), cp_model.LinearExpr.constant(0))


@settings(max_examples=30, deadline=None)
@given(problem=problems(demands=(2, 6), cohorts=(1, 4), staff=(0, 3), time_limit_s=5, workers=1))
def test_the_pruned_model_reaches_the_full_models_optimum(problem):
    pruned, full = pruned_and_full(problem)
    assert status(pruned, objective=every_goal) == status(full, objective=every_goal)
