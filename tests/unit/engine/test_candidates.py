"""The candidate grid: where and when the plan may open a cohort nobody has planned yet."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from engine.bootstrap import bootstrap
from engine.domain.calendar import no_holidays
from engine.domain.model import Office
from engine.domain.programmes import load_catalogue
from engine.services.candidates import Grid, grid_cohorts
from engine.settings import EngineSettings
from solver.schema import Period
from tests.unit.solver.factories import make_demand, make_facilitator

AS_OF = date(2025, 2, 3)  # a Monday
HUB, SATELLITE, DESK = Office("HUB", "P1", rooms=2), Office("SAT", "P2", rooms=1), Office("DESK", "P1", rooms=0)
CATALOGUE = load_catalogue()


def waiting(n: int, **overrides):
    return [make_demand(referral_id=f"R{i}", crn=f"X{i}", programme_code="BC-M", **overrides) for i in range(n)]


def grid(demands, offices=(HUB, SATELLITE, DESK), horizon_weeks=12, staff=None, **settings):
    return grid_cohorts("RS", AS_OF, horizon_weeks, demands, offices, CATALOGUE, no_holidays, Grid(**settings),
                        staff)


def test_fewer_people_waiting_than_a_minimum_group_get_no_candidates():
    assert grid(waiting(CATALOGUE.get("BC-M").hard_min_size - 1)) == []
    assert grid(waiting(CATALOGUE.get("BC-M").min_size - 1), rare_at_hard_minimum=False) == []


def test_candidates_are_offered_only_at_venues_with_group_rooms():
    offered = grid(waiting(12))
    assert offered and {c.office_code for c in offered} == {"HUB", "SAT"}


def test_nothing_starts_inside_the_lead_time_and_everything_within_the_horizon():
    offered = grid(waiting(12), lead_days=14)
    assert min(c.start_date for c in offered) >= AS_OF + timedelta(days=14)
    assert max(c.start_date for c in offered) < AS_OF + timedelta(weeks=12 + 3)


def test_people_available_only_in_the_evening_get_only_evening_tracks():
    evenings = frozenset((day, Period.EVENING) for day in range(5))
    offered = grid(waiting(12, availability=evenings))
    assert offered and all(slot.period == "EVENING" for c in offered for slot in c.slots)


def test_daytime_tracks_run_twice_a_week_where_the_programme_allows_it():
    offered = grid(waiting(12))
    daytime = [c for c in offered if c.slots[0].period == "DAYTIME"]
    assert daytime and all(len(c.slots) == 2 for c in daytime)
    assert {c.slots[0].start for c in daytime} == {"10:00"}
    both = grid(waiting(12), daytime_starts=("10:00", "13:30"), horizon_weeks=52)
    assert {c.slots[0].start for c in both if c.slots[0].period == "DAYTIME"} == {"10:00", "13:30"}


def test_the_same_state_gives_the_same_ids_and_each_id_once():
    first, second = grid(waiting(12)), grid(waiting(12))
    ids = [c.cohort_id for c in first]
    assert ids == [c.cohort_id for c in second] and len(ids) == len(set(ids))
    assert all(c.cohort_id.startswith("RS-G-BC-M-") and c.origin == "PLAN" for c in first)


def test_candidates_stay_within_the_offer_ratio_of_the_groups_the_list_could_fill():
    assert CATALOGUE.get("BC-M").min_size == 6  # 12 waiting fill two groups; ratio 2 offers four
    offered = grid(waiting(12), horizon_weeks=52, offer_ratio=2.0, step_weeks=1)
    assert len(offered) == 4  # 4 tracks (two venues × daytime, evening), so the step widens to one start each
    assert len(grid(waiting(12), horizon_weeks=52, offer_ratio=8.0, step_weeks=1)) == 16


def test_women_and_men_get_separate_groups():
    offered = grid(waiting(12) + [make_demand(referral_id=f"W{i}", crn=f"Y{i}", programme_code="BC-M", sex="FEMALE")
                                  for i in range(12)])
    assert {c.sex for c in offered} == {"MALE", "FEMALE"}


def staff(*offices: str, programmes=frozenset({"BC-M"}), availability=frozenset(), n: int = 2):
    return [make_facilitator(facilitator_id=f"F-{office}-{i}", programmes=programmes, offices=frozenset({office}),
                             availability=availability) for office in offices for i in range(n)]


def test_a_staffed_grid_offers_only_tracks_trained_facilitators_could_run():
    people = waiting(12)
    assert {c.office_code for c in grid(people, staff=staff("HUB"))} == {"HUB", "SAT"}  # by default blind to staff
    assert {c.office_code for c in grid(people, staff=staff("HUB"), staffed=True)} == {"HUB"}
    assert grid(people, staff=staff("HUB", n=1), staffed=True) == []  # a group needs two facilitators
    assert grid(people, staff=staff("HUB", "SAT", programmes=frozenset({"BBR"})), staffed=True) == []
    days = frozenset((day, Period.DAYTIME) for day in range(5))
    offered = grid(people, staff=staff("HUB", availability=days), staffed=True)
    assert offered and all(slot.period == "DAYTIME" for c in offered for slot in c.slots)  # nobody works evenings


def test_a_variant_s_tracks_start_on_staggered_weeks_across_the_horizon():
    people = waiting(12)  # two groups' worth: four tracks share a budget of four candidates
    together = grid(people, horizon_weeks=52)
    staggered = grid(people, horizon_weeks=52, stagger=True)
    assert len(together) == len(staggered) == 4
    assert len({_monday(c.start_date) for c in together}) == 1  # by default all in the first week
    mondays = sorted(_monday(c.start_date) for c in staggered)
    assert len(set(mondays)) == 4 and mondays[-1] - mondays[0] >= timedelta(weeks=26)
    assert all(AS_OF + timedelta(days=14) <= c.start_date < AS_OF + timedelta(weeks=52 + 3) for c in staggered)


def test_a_variant_many_wait_for_keeps_the_grid_s_weeks_when_staggered():
    people = waiting(60)  # the budget allows a start every step at every track: the step is not widened
    assert grid(people, stagger=True) == grid(people)
    assert len({_monday(c.start_date) for c in grid(people, stagger=True)}) == 3  # 12 weeks, a start every 4


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def test_the_service_s_grid_is_staffed_and_staggered_only_when_the_settings_say_so(tmp_path):
    url = f"sqlite:///{tmp_path}/e.db"
    on = bootstrap(EngineSettings(database_url=url, grid_staffed=True, grid_stagger=True), run_migrations=False)
    assert on.grid().staffed and on.grid().stagger
    default = bootstrap(EngineSettings(database_url=url), run_migrations=False).grid()
    assert (default.staffed, default.stagger) == (Grid().staffed, Grid().stagger) == (False, False)


def test_evening_tracks_meet_twice_a_week_unless_the_grid_says_once_and_where_the_programme_allows():
    evenings = frozenset((day, Period.EVENING) for day in range(5))
    once = grid(waiting(12, availability=evenings), evenings_per_week=1)
    assert once and all(len(c.slots) == 1 for c in once)
    twice = grid(waiting(12, availability=evenings))  # by default
    assert twice and all(len(c.slots) == 2 and {s.period for s in c.slots} == {"EVENING"} for c in twice)
    assert {tuple(s.weekday for s in c.slots) for c in twice} <= {(0, 2), (1, 3)}  # half a week apart
    # sooner done: the same start finishes weeks earlier than on one evening a week
    by_start = {(c.office_code, c.start_date): c.end_date for c in once}
    paired = [(c.end_date, by_start[(c.office_code, c.start_date)]) for c in twice
              if (c.office_code, c.start_date) in by_start]
    assert paired and all(end + timedelta(weeks=8) < single_end for end, single_end in paired)
    assert CATALOGUE.get("DIDP").cadences == (1,)  # a once-a-week programme stays once a week
    didp = [make_demand(referral_id=f"D{i}", crn=f"Z{i}", programme_code="DIDP", availability=evenings)
            for i in range(12)]
    assert all(len(c.slots) == 1 for c in grid(didp, evenings_per_week=2))


def test_the_service_s_evening_groups_meet_as_often_as_the_setting_says(tmp_path):
    url = f"sqlite:///{tmp_path}/e.db"
    assert bootstrap(EngineSettings(database_url=url), run_migrations=False).grid().evenings_per_week == 2
    once = bootstrap(EngineSettings(database_url=url, grid_evenings_per_week=1), run_migrations=False)
    assert once.grid().evenings_per_week == 1
    with pytest.raises(ValidationError, match="grid_evenings_per_week"):
        EngineSettings(database_url=url, grid_evenings_per_week=3)


def test_a_variant_too_few_wait_for_opens_at_the_hard_minimum_unless_the_grid_says_not():
    bc_m = CATALOGUE.get("BC-M")
    assert (bc_m.hard_min_size, bc_m.min_size) == (4, 6)
    few = waiting(5)  # enough for the hard minimum, not for the usual one
    assert grid(few, rare_at_hard_minimum=False) == []
    rare = grid(few)  # by default
    assert rare and {c.min_size for c in rare} == {4}
    assert grid(waiting(3), rare_at_hard_minimum=True) == []  # below the hard minimum: still nothing
    # a variant that makes the usual minimum somewhere keeps it everywhere it is offered
    assert {c.min_size for c in grid(waiting(12), rare_at_hard_minimum=True)} == {6}
    assert grid(waiting(12), rare_at_hard_minimum=True) == grid(waiting(12))


def test_the_service_opens_rare_variants_at_the_hard_minimum_unless_the_setting_says_not(tmp_path):
    url = f"sqlite:///{tmp_path}/e.db"
    assert bootstrap(EngineSettings(database_url=url), run_migrations=False).grid().rare_at_hard_minimum
    off = bootstrap(EngineSettings(database_url=url, grid_rare_at_hard_minimum=False), run_migrations=False)
    assert not off.grid().rare_at_hard_minimum


def test_a_rare_variant_is_offered_its_best_track_per_period_at_every_step_across_the_horizon():
    """Widening the step left a rare variant one start week on a 52-week horizon, the first; with
    rare_every_step it keeps every track in that week and its best track per period starts at every later step."""
    people = waiting(12)  # two groups' worth: the step widens past 4 weeks
    widened = grid(people, horizon_weeks=52)
    every = grid(people, horizon_weeks=52, rare_every_step=True)
    assert len({_monday(c.start_date) for c in widened}) == 1
    assert {c.cohort_id for c in widened} <= {c.cohort_id for c in every}  # nothing offered before is lost
    assert len({_monday(c.start_date) for c in every}) == 13  # a start every 4 weeks for 52 weeks
    first = min(_monday(c.start_date) for c in every)
    for period in ("DAYTIME", "EVENING"):
        later = [c for c in every if c.slots[0].period == period and _monday(c.start_date) > first]
        assert len(later) == 12 and len({c.office_code for c in later}) == 1
    assert len({c.cohort_id for c in every}) == len(every)


def _later_venues(offered):
    first = min(_monday(c.start_date) for c in offered)
    return {c.office_code for c in offered if _monday(c.start_date) > first}


def test_a_rare_variant_s_track_is_where_staff_could_run_it_then_where_most_of_its_people_can_come():
    near_sat = waiting(8) + [make_demand(referral_id=f"S{i}", crn=f"Y{i}", programme_code="BC-M",
                                         excluded_offices=frozenset({"HUB"})) for i in range(4)]
    assert _later_venues(grid(near_sat, rare_every_step=True)) == {"SAT"}  # 12 can come there, against 8
    assert _later_venues(grid(near_sat, staff=staff("HUB"), rare_every_step=True)) == {"HUB"}


def test_a_variant_many_wait_for_is_not_changed_by_rare_every_step():
    people = waiting(60)
    assert grid(people, rare_every_step=True) == grid(people)


def test_the_service_offers_rare_variants_every_step_unless_the_setting_says_not(tmp_path):
    url = f"sqlite:///{tmp_path}/e.db"
    assert not Grid().rare_every_step  # the grid's own default is the usual grid; the service's is the union
    assert bootstrap(EngineSettings(database_url=url), run_migrations=False).grid().rare_every_step
    off = bootstrap(EngineSettings(database_url=url, grid_rare_every_step=False), run_migrations=False)
    assert not off.grid().rare_every_step
    with pytest.raises(ValidationError):
        EngineSettings(database_url=url, grid_rare_every_step="sometimes")


def test_the_price_of_opening_a_group_offered_beyond_the_budget_is_a_setting_passed_to_the_plan(tmp_path):
    url = f"sqlite:///{tmp_path}/e.db"
    default = bootstrap(EngineSettings(database_url=url), run_migrations=False).params()
    assert (default.extra_open_cost, default.extra_move_cost) == (2, 0)
    on = bootstrap(EngineSettings(database_url=url, extra_open_cost=2, extra_move_cost=3), run_migrations=False)
    assert (on.params().extra_open_cost, on.params().extra_move_cost) == (2, 3)
    for bad in (-1, 101, "2.5", "two"):
        for name in ("extra_open_cost", "extra_move_cost"):
            with pytest.raises(ValidationError):
                EngineSettings(database_url=url, **{name: bad})


def test_stability_first_is_a_strict_boolean_setting_passed_to_the_plan(tmp_path):
    url = f"sqlite:///{tmp_path}/e.db"
    assert bootstrap(EngineSettings(database_url=url), run_migrations=False).params().stability_first is True
    off = bootstrap(EngineSettings(database_url=url, stability_first=False), run_migrations=False)
    assert off.params().stability_first is False
    for bad in ("sometimes", 2, "later"):
        with pytest.raises(ValidationError):
            EngineSettings(database_url=url, stability_first=bad)
