"""What-if planning: a copy of the region's problem with changed capacity or demand, solved and compared,
while the live state stays exactly as it was."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from engine.domain.model import Office
from engine.domain.rules import EngineRules
from engine.services.candidates import Grid
from engine.services.planning import Planner
from engine.services.whatif import (
    Base,
    Scenario,
    WhatIfError,
    apply_scenario,
    compare,
    measure,
    parse_counts,
    parse_venues,
    read_base,
    run_sweep,
    run_whatif,
    split_fte,
    sweep_fte,
)
from engine.settings import EngineSettings
from solver import schema as s
from solver.baselines import CurrentPracticeAllocator
from solver.model import CpSatAllocator
from tests.support.events import facilitator, person_with_referral
from tests.unit.engine.harness import Harness
from tests.unit.solver.factories import (
    AS_OF,
    make_cohort,
    make_demand,
    make_facilitator,
    make_problem,
)

GREEDY = CurrentPracticeAllocator()
RULES = EngineRules()
START, END = AS_OF + timedelta(weeks=4), AS_OF + timedelta(weeks=26)


# ---- a constructed region where facilitators are the bottleneck ---------------------------------------

def bottleneck(groups: int = 4, staff: int = 1, people_per_group: int = 8) -> Base:
    """``groups`` candidate cohorts on the same slots (a facilitator runs at most one), each filling up with
    people who must start now; one late cohort puts everyone within the plan's reach. ``staff``
    facilitators in PDU1, so ``staff // 2`` groups can open."""
    slot = dict(state=s.CohortState.CANDIDATE, min_size=4, max_size=people_per_group, facilitators_required=2,
                facilitator_weekly_hours=7.0, group_weeks=20)
    cohorts = [make_cohort(cohort_id=f"C{i}", start_date=START, end_date=END, **slot) for i in range(groups)]
    cohorts.append(make_cohort(cohort_id="LATE", start_date=END, end_date=END + timedelta(weeks=30), **slot))
    demands = [make_demand(referral_id=f"R{i:03d}", crn=f"X{i:03d}", pdu_code="PDU1",
                           deadline=END + timedelta(weeks=4)) for i in range(groups * people_per_group)]
    team = [make_facilitator(facilitator_id=f"F{i}", weekly_hours=14.0) for i in range(1, staff + 1)]
    problem = make_problem(demands, cohorts, team, [s.Office("OFF1", "PDU1", rooms=groups + 1),
                                                    s.Office("OFF2", "PDU2", rooms=0)])
    return Base(problem, frozenset(), frozenset(), {f.facilitator_id: "PDU1" for f in team},
                (Office("OFF1", "PDU1", rooms=groups + 1), Office("OFF2", "PDU2", rooms=0)), RULES, None)


def test_the_empty_scenario_is_the_baseline_and_solves_once():
    solves = []
    progress = lambda label, done: solves.append(label) if done else None  # noqa: E731
    result = compare(bottleneck(), Scenario(), GREEDY, progress)
    assert solves == ["baseline"] and result.outcome == result.baseline and result.changes == ()
    assert result.baseline.within_reach == 32 and result.baseline.misses == 32  # one facilitator: no group opens


@pytest.mark.parametrize("allocator", [GREEDY, CpSatAllocator()], ids=["current-practice", "cpsat"])
def test_adding_facilitators_where_staff_is_the_bottleneck_reduces_misses(allocator):
    base = bottleneck()
    base = replace(base, problem=replace(base.problem, params=replace(base.problem.params, time_limit_s=2, workers=1)))
    result = compare(base, Scenario(add_facilitators={"PDU1": 3}), allocator)
    assert result.outcome.misses < result.baseline.misses
    assert result.outcome.cohorts_opened == 2 and result.outcome.misses == 16
    assert result.difference["misses"] == -16 and result.difference["miss_pct"] == -50.0
    assert "added WHATIF-F1, WHATIF-F2, WHATIF-F3 in PDU1" in result.changes[0]


def test_added_facilitators_are_like_their_pdus_team():
    problem, notes = apply_scenario(bottleneck(staff=2), Scenario(add_facilitators={"PDU1": 2}))
    added = [f for f in problem.facilitators if f.facilitator_id.startswith("WHATIF-")]
    assert [f.facilitator_id for f in added] == ["WHATIF-F1", "WHATIF-F2"]
    assert all(f.programmes == {"BC"} and f.weekly_hours == 14.0 and f.offices == {"OFF1"} for f in added)
    assert all(f.availability == frozenset() for f in added)  # any slot by default
    trained, _ = apply_scenario(bottleneck(), Scenario(add_facilitators={"PDU2": 1}, programmes=frozenset({"BC-M"})))
    newcomer = trained.facilitators[-1]
    assert newcomer.programmes == {"BC-M"} and newcomer.offices == {"OFF1"}  # PDU2 has no venue: the team's


def test_removing_facilitators_increases_or_keeps_misses_and_takes_the_least_committed():
    base = bottleneck(staff=6)
    fewer = compare(base, Scenario(remove_facilitators={"PDU1": 2}), GREEDY)
    assert fewer.outcome.misses >= fewer.baseline.misses
    assert (fewer.baseline.misses, fewer.outcome.misses) == (8, 16)
    running = make_cohort(cohort_id="RUN", start_date=AS_OF - timedelta(weeks=2), end_date=END,
                          facilitator_ids=("F1", "F2"), group_weeks=10, facilitator_weekly_hours=3.5)
    with_running = replace(base, problem=replace(base.problem, cohorts=base.problem.cohorts + (running,)),
                           pinned=frozenset({"RUN"}))  # started: the planner pins it
    removed, notes = apply_scenario(with_running, Scenario(remove_facilitators={"PDU1": 5}))
    assert {f.facilitator_id for f in removed.facilitators} == {"F2"}  # F1 and F2 run a started group: last
    assert "so F1 is removed too, finishing the cohorts they run" in notes[0]
    assert "F3 (0 h committed)" in notes[0] and "F1 (28 h committed)" in notes[0]


@pytest.mark.parametrize("factor", [1.2, 0.8, 2.5, 0.5, 1.0])
def test_the_demand_factor_changes_the_demand_count_exactly_and_deterministically(factor):
    base = bottleneck(groups=5, people_per_group=7)  # 35 waiting
    problem, _ = apply_scenario(base, Scenario(demand_factor=factor))
    again, _ = apply_scenario(base, Scenario(demand_factor=factor))
    assert len(problem.demands) == round(35 * factor) and problem == again
    ids = [d.referral_id for d in problem.demands]
    assert len(set(ids)) == len(ids) and len({d.crn for d in problem.demands}) == len(ids)
    originals = {d.referral_id for d in base.problem.demands}
    if factor >= 1:
        assert originals <= set(ids) and all(i.startswith("WHATIF-") for i in set(ids) - originals)
    else:
        assert set(ids) <= originals


def test_the_sweep_finds_the_fewest_fte_that_meet_the_target_and_one_fewer_does_not():
    base = bottleneck(groups=4)  # 32 people; k added → (1 + k) // 2 groups of 8
    sweep = sweep_fte(base, GREEDY, target_miss_pct=30.0, max_fte=10)
    by_fte = {x.fte: x.outcome for x in sweep.steps}
    brute = min(k for k in range(11) if compare(
        base, Scenario(add_facilitators={"PDU1": k}) if k else Scenario(), GREEDY).outcome.miss_pct < 30)
    assert sweep.answer == brute == 5
    assert by_fte[5].miss_pct < 30 <= by_fte[4].miss_pct
    assert [x.fte for x in sweep.steps] == [0, 1, 2, 4, 8, 6, 5]  # gallop, then bisect: nothing solved twice
    assert sweep.pdus == ("PDU1",) and any("Sainte-Lagu" in a for a in sweep.assumptions)


def test_the_sweep_says_when_the_target_is_not_reached_or_cannot_be():
    base = bottleneck(groups=4)
    capped = sweep_fte(base, GREEDY, target_miss_pct=30.0, max_fte=3)
    assert capped.answer is None and [x.fte for x in capped.steps] == [0, 1, 2, 3]
    late = [make_demand(referral_id=f"Z{i}", crn=f"Z{i}", pdu_code="PDU1", deadline=START) for i in range(40)]
    hopeless = replace(base, problem=replace(base.problem, demands=base.problem.demands + tuple(late)))
    floor = sweep_fte(hopeless, GREEDY, target_miss_pct=30.0, max_fte=10)
    assert floor.answer is None and [x.fte for x in floor.steps] == [0] and floor.floor_pct > 50
    assert any("unreachable by staffing alone" in a for a in floor.assumptions)


def test_fte_split_follows_demand_and_never_moves_a_facilitator_between_pdus():
    weights = {"P1": 60, "P2": 30, "P3": 10}
    splits = [split_fte(k, weights) for k in range(12)]
    assert splits[10] == {"P1": 6, "P2": 3, "P3": 1}
    for smaller, larger in zip(splits, splits[1:]):
        assert sum(larger.values()) == sum(smaller.values()) + 1
        assert all(larger.get(p, 0) >= n for p, n in smaller.items())


@pytest.mark.parametrize("scenario, phrase", [
    (Scenario(add_facilitators={"PDU9": 1}), "unknown PDU 'PDU9' in region REG; valid PDUs: PDU1, PDU2"),
    (Scenario(remove_facilitators={"NOPE": 1}), "unknown PDU 'NOPE' in region REG; valid PDUs: PDU1, PDU2"),
    (Scenario(open_venues={"OFF9": 1}), "unknown office 'OFF9' in region REG; valid offices: OFF1, OFF2"),
    (Scenario(programmes=frozenset({"XYZ"}), add_facilitators={"PDU1": 1}), "unknown programme 'XYZ'; valid "),
    (Scenario(demand_factor=0), "--demand-factor 0 must be above 0"),
    (Scenario(new_facilitator_slots="night"), "unknown choice 'night'; valid choices: any, team"),
])
def test_bad_scenario_values_are_named_with_the_valid_ones(scenario, phrase):
    with pytest.raises(WhatIfError) as error:
        apply_scenario(bottleneck(), scenario)
    assert phrase in str(error.value)


@pytest.mark.parametrize("values, phrase", [(["PDU1"], "'PDU1' is not PDU=N"), (["PDU1=x"], "'PDU1=x'"),
                                            (["=2"], "'=2'"), (["PDU1=0"], "'PDU1=0'")])
def test_malformed_pdu_counts_are_refused(values, phrase):
    with pytest.raises(WhatIfError, match=phrase):
        parse_counts(values, "--add-facilitators")
    assert parse_counts(["P1=2", "P2=1", "P1=1"], "--add-facilitators") == {"P1": 3, "P2": 1}
    assert parse_venues(["O1", "O2=3"]) == {"O1": 1, "O2": 3}
    with pytest.raises(WhatIfError, match="OFFICE=ROOMS"):
        parse_venues(["O1=none"])


# ---- on a real engine: the grid, and the live state untouched ----------------------------------------

AS_OF_LIVE = date(2025, 2, 3)


@pytest.fixture
def engine(memory_bootstrap):
    h = Harness()
    h.feed(*[line for i in range(14) for line in person_with_referral(f"X{i:06d}", months=12)],
           facilitator("F1"), facilitator("F2"))
    with h.db.uow() as uow:
        uow.save_offices("RS", [Office("RS-P01-O1", "RS-P01", rooms=1), Office("RS-P01-O2", "RS-P01"),
                                Office("RS-P02-O1", "RS-P02")])
        uow.commit()
    Planner(h.db.uow, GREEDY, h.rules, grid=Grid()).plan("RS", AS_OF_LIVE)  # allocations, outbox rows, a date
    return memory_bootstrap(EngineSettings(solver_in_process=True), h.db)


def test_a_what_if_leaves_the_live_state_and_the_outbox_untouched(engine):
    before = engine.database.canonical_state()
    assert before["outbox"] and before["allocations"]
    result = run_whatif(engine, Scenario(add_facilitators={"RS-P01": 2}, remove_facilitators={"RS-P01": 1},
                                         evening_track=True, open_venues={"RS-P02-O1": 2}, demand_factor=1.5),
                        allocator="cpsat", time_limit_s=1)
    sweep = run_sweep(engine, target_miss_pct=5, max_fte=2, allocator="current-practice")
    assert result.region_code == "RS" and result.as_of == AS_OF_LIVE  # the only region, its last plan date
    assert result.outcome.demands == round(result.baseline.demands * 1.5) and sweep.steps
    assert engine.database.canonical_state() == before


def test_opening_a_venue_and_an_evening_track_add_grid_candidates_there(engine):
    # the usual grid: the service's default also offers this small region's rare variants every evening start
    base = read_base(engine.database.uow, "RS", AS_OF_LIVE, engine.rules, engine.params(),
                     replace(engine.grid(), rare_every_step=False))
    assert base.grid_ids and {c.office_code for c in base.problem.cohorts} == {"RS-P01-O1"}
    opened, notes = apply_scenario(base, Scenario(open_venues={"RS-P02-O1": 1}))
    assert "RS-P02-O1" in {c.office_code for c in opened.cohorts}
    assert "opened RS-P02-O1 with 1 group room (had 0)" in notes[0] and "no facilitator is based" in notes[0]
    evening, notes = apply_scenario(base, Scenario(evening_track=True))
    added = {c.cohort_id for c in evening.cohorts} - {c.cohort_id for c in base.problem.cohorts}
    assert added and all(evening.cohort(cid).slots[0].period == s.Period.EVENING for cid in added)
    assert "evening track" in notes[0]
    before = {(c.office_code, c.start_date - timedelta(days=c.start_date.weekday()))
              for c in base.problem.cohorts if c.slots[0].period == s.Period.EVENING}
    assert all((evening.cohort(cid).office_code, evening.cohort(cid).start_date
                - timedelta(days=evening.cohort(cid).start_date.weekday())) not in before for cid in added)


def test_on_a_staffed_grid_an_opened_venue_gets_candidates_once_staff_work_there(engine):
    base = read_base(engine.database.uow, "RS", AS_OF_LIVE, engine.rules, engine.params(),
                     replace(engine.grid(), staffed=True))
    unstaffed, _ = apply_scenario(base, Scenario(open_venues={"RS-P02-O1": 1}))
    assert "RS-P02-O1" not in {c.office_code for c in unstaffed.cohorts}  # nobody trained works there
    staffed, _ = apply_scenario(base, Scenario(open_venues={"RS-P02-O1": 1}, add_facilitators={"RS-P02": 2}))
    assert "RS-P02-O1" in {c.office_code for c in staffed.cohorts}


def test_a_change_of_staff_alone_leaves_a_grid_blind_to_staff_as_it_was(engine):
    base = read_base(engine.database.uow, "RS", AS_OF_LIVE, engine.rules, engine.params(), engine.grid())
    assert not base.grid.staffed and base.grid_ids
    hired, _ = apply_scenario(base, Scenario(add_facilitators={"RS-P01": 2}))
    assert [c.cohort_id for c in hired.cohorts] == [c.cohort_id for c in base.problem.cohorts]
    assert len(hired.facilitators) == len(base.problem.facilitators) + 2


def test_an_unknown_region_is_refused_with_the_known_ones(engine):
    with pytest.raises(WhatIfError, match="unknown region 'XX'; valid regions: RS"):
        run_whatif(engine, Scenario(), region="XX", allocator="current-practice")
    with pytest.raises(WhatIfError, match="unknown PDU 'RS-P99'.*valid PDUs: RS-P01, RS-P02"):
        run_whatif(engine, Scenario(add_facilitators={"RS-P99": 1}), allocator="current-practice")


def test_measure_counts_misses_over_the_people_within_reach():
    base = bottleneck(groups=2)
    plan = GREEDY.allocate(base.problem)
    outcome = measure(base.problem, plan)
    assert (outcome.demands, outcome.within_reach, outcome.misses, outcome.miss_pct) == (16, 16, 16, 100.0)
    assert outcome.no_option == 0 and outcome.placed == 0 and outcome.cohorts_opened == 0



def test_an_opened_venue_can_be_staffed_by_its_pdus_team():
    base = bottleneck(staff=2)
    moved = replace(base, home_pdu={"F1": "PDU2", "F2": "PDU2"})
    problem, notes = apply_scenario(moved, Scenario(open_venues={"OFF2": 2}))
    assert problem.offices[1] == s.Office("OFF2", "PDU2", 2)
    assert all(f.offices == {"OFF1", "OFF2"} for f in problem.facilitators)
    assert "PDU2's facilitators (F1, F2) can work there" in notes[0]
    _, alone = apply_scenario(base, Scenario(open_venues={"OFF2": 1}))
    assert "combine with --add-facilitators PDU2=N" in alone[0]


def test_a_regridded_scenario_marks_the_union_grids_extra_candidates_as_the_planner_does(engine):
    """With Grid.rare_every_step the planner marks what the union adds beyond the usual grid, and CP-SAT plans
    without those first; a scenario that recomputes the grid must mark them the same, or its plan would be made
    differently from the baseline it is compared with."""
    base = read_base(engine.database.uow, "RS", AS_OF_LIVE, engine.rules, engine.params(),
                     replace(engine.grid(), rare_every_step=True))
    marked = {c.cohort_id for c in base.problem.cohorts if c.extra}
    assert marked
    same, _ = apply_scenario(base, Scenario(open_venues={"RS-P01-O1": 1}))  # regrids, nothing changed
    assert {c.cohort_id for c in same.cohorts if c.extra} == marked
