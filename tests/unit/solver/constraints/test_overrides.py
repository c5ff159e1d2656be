"""overrides: keep, never, hold and lock stand in the model; one that would break a safety rule is set aside."""
from __future__ import annotations

from datetime import date, timedelta

from solver.overrides import standing_of
from solver.schema import CohortState, Override, OverrideKind as K
from tests.unit.solver.factories import AS_OF, make_candidate, make_cohort, make_demand, only, solve_model, tiny_problem

LINKS = ["one_cohort", "max_size"]
PAIR = ["programme", "sex", "non_associations"]
WITH_PAIR = only(pair=["overrides", *PAIR], constraints=LINKS)
WITHOUT_PAIR = only(pair=PAIR, constraints=LINKS)
WITH_BOTH = only(pair=["overrides", *PAIR], constraints=["overrides", *LINKS])
WITHOUT_MODEL_RULE = only(pair=["overrides", *PAIR], constraints=LINKS)


def ov(kind: K, number: int = 1, **fields) -> Override:
    return Override(f"ov-{number:06d}", kind, **fields)


def cohorts(**first):
    return [make_cohort(cohort_id="C1", **first), make_cohort(cohort_id="C2")]


def test_a_held_referral_takes_no_place_until_its_date():
    hold = ov(K.HOLD, referral_id="R1", until=AS_OF + timedelta(days=14))
    held = tiny_problem([make_demand(overrides=(hold,))], cohorts())
    assert solve_model(held, WITH_PAIR).placed == set()
    assert solve_model(held, WITHOUT_PAIR).placed  # without the rule the person is placed


def test_a_hold_ends_on_its_date():
    hold = ov(K.HOLD, referral_id="R1", until=AS_OF)
    assert solve_model(tiny_problem([make_demand(overrides=(hold,))], cohorts()), WITH_PAIR).placed


def test_never_rules_out_only_that_cohort():
    never = ov(K.NEVER, referral_id="R1", cohort_id="C1")
    problem = tiny_problem([make_demand(overrides=(never,))], cohorts())
    assert solve_model(problem, WITH_PAIR).placed == {("R1", "C2")}
    assert ("R1", "C1") in solve_model(problem, WITHOUT_PAIR).build.vars.x


def test_a_kept_referral_is_only_placed_on_its_cohort():
    keep = ov(K.KEEP, referral_id="R1", cohort_id="C2")
    problem = tiny_problem([make_demand(overrides=(keep,))], cohorts())
    assert solve_model(problem, WITH_BOTH).placed == {("R1", "C2")}
    assert solve_model(problem, WITHOUT_PAIR).placed != {("R1", "C2")}


def test_a_kept_referral_holds_its_place_even_when_a_goal_prefers_none():
    """The model rule forces the place: with a goal that rewards leaving everyone out, the keep still holds."""
    from solver.build import Term

    def fewest_places(b) -> Term:
        term = Term("fewest_places", 1)
        for var in b.vars.x.values():
            term.add(1, var)
        return term

    keep = ov(K.KEEP, referral_id="R1", cohort_id="C1")
    problem = tiny_problem([make_demand(overrides=(keep,))], cohorts())
    rule = only(pair=["overrides", *PAIR], constraints=["overrides", *LINKS], fewest_places=fewest_places)
    without = only(pair=["overrides", *PAIR], constraints=LINKS, fewest_places=fewest_places)
    assert solve_model(problem, rule).placed == {("R1", "C1")}
    assert solve_model(problem, without).placed == set()


def test_a_kept_referral_joins_a_candidate_whenever_it_opens():
    keep = ov(K.KEEP, referral_id="R1", cohort_id="K1")
    demands = [make_demand(overrides=(keep,)), make_demand(referral_id="R2", crn="X002")]
    problem = tiny_problem(demands, [make_candidate(max_size=1)])
    assert solve_model(problem, WITH_BOTH).placed == {("R1", "K1")}  # one place: the kept referral has it


def test_a_locked_cohort_takes_no_newcomer_and_keeps_its_holders():
    lock = ov(K.LOCK, cohort_id="C1")
    holder = make_demand(referral_id="R1", crn="X001", current_cohort_id="C1")
    newcomer = make_demand(referral_id="R2", crn="X002")
    problem = tiny_problem([holder, newcomer], [make_cohort(cohort_id="C1", overrides=(lock,))])
    assert solve_model(problem, WITH_BOTH).placed == {("R1", "C1")}
    assert solve_model(problem, WITHOUT_PAIR).placed == {("R1", "C1"), ("R2", "C1")}


def test_a_keep_that_breaks_a_safety_rule_is_set_aside_and_named():
    """A non-association that arrived after the keep: the safety rule wins, and the keep is set aside with why."""
    keep = ov(K.KEEP, referral_id="R1", cohort_id="C1")
    member_named = make_cohort(cohort_id="C1", members=("R9",), member_crns=("X009",))
    problem = tiny_problem([make_demand(overrides=(keep,), non_associations=frozenset({"X009"}))],
                           [member_named, make_cohort(cohort_id="C2")])
    assert solve_model(problem, WITH_BOTH).placed == {("R1", "C2")}
    [aside] = standing_of(problem).set_aside
    assert aside.override == keep and "non-association" in aside.why


def test_a_keep_on_a_group_of_the_other_sex_is_set_aside():
    keep = ov(K.KEEP, referral_id="R1", cohort_id="C1")
    problem = tiny_problem([make_demand(sex="FEMALE", overrides=(keep,))], cohorts(sex="MALE"))
    assert solve_model(problem, WITH_BOTH).placed == {("R1", "C2")}
    assert "does not take them" in standing_of(problem).set_aside[0].why


def test_a_locked_holder_who_now_breaks_a_rule_leaves_and_the_lock_says_so():
    lock = ov(K.LOCK, cohort_id="C1")
    holder = make_demand(current_cohort_id="C1", non_associations=frozenset({"X009"}))
    locked = make_cohort(cohort_id="C1", members=("R9",), member_crns=("X009",), overrides=(lock,))
    problem = tiny_problem([holder], [locked, make_cohort(cohort_id="C2")])
    assert solve_model(problem, WITH_BOTH).placed == {("R1", "C2")}
    assert "R1 leaves C1" in standing_of(problem).set_aside[0].note()


def test_keeps_beyond_the_free_places_are_set_aside_in_the_order_they_were_made():
    demands = [make_demand(referral_id=f"R{i}", crn=f"X00{i}",
                           overrides=(ov(K.KEEP, i, referral_id=f"R{i}", cohort_id="C1"),)) for i in (1, 2)]
    problem = tiny_problem(demands, cohorts(max_size=1))
    outcome = solve_model(problem, WITH_BOTH)
    assert outcome.feasible and ("R1", "C1") in outcome.placed and ("R2", "C1") not in outcome.placed
    assert [a.override.override_id for a in standing_of(problem).set_aside] == ["ov-000002"]


def test_a_hold_beats_a_keep_and_a_never_beats_a_keep():
    hold = ov(K.HOLD, 1, referral_id="R1", until=date(2025, 3, 1))
    keep = ov(K.KEEP, 2, referral_id="R1", cohort_id="C1")
    never = ov(K.NEVER, 3, referral_id="R2", cohort_id="C1")
    keep2 = ov(K.KEEP, 4, referral_id="R2", cohort_id="C1")
    demands = [make_demand(overrides=(hold, keep)), make_demand(referral_id="R2", crn="X002", overrides=(never, keep2))]
    problem = tiny_problem(demands, cohorts())
    assert solve_model(problem, WITH_BOTH).placed == {("R2", "C2")}
    assert {a.override.override_id for a in standing_of(problem).set_aside} == {"ov-000002", "ov-000004"}


def test_a_keep_on_a_cohort_not_offered_is_set_aside():
    keep = ov(K.KEEP, referral_id="R1", cohort_id="GONE")
    problem = tiny_problem([make_demand(overrides=(keep,))], cohorts(state=CohortState.OPEN))
    assert solve_model(problem, WITH_BOTH).placed
    assert "not open to this plan" in standing_of(problem).set_aside[0].why
