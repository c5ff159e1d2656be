"""engine.domain.capacity: facilitator hours needed and available per programme, PDU and week."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.calendars import england_and_wales_bank_holidays
from engine.domain.calendar import group_weeks
from engine.domain.programmes import load_catalogue
from engine.domain import capacity as cap
from engine.domain.deadlines import PATTERNS
from engine.domain.capacity import weekly_hours

MON = date(2026, 3, 2)
LOAD = {"BC-M": cap.ProgrammeLoad(max_size=12, facilitators_per_group=2, facilitator_weekly_hours=7.0, group_weeks=3),
        "DIDP": cap.ProgrammeLoad(max_size=12, facilitators_per_group=2, facilitator_weekly_hours=3.0, group_weeks=2)}


def waiting(n: int, programme: str = "BC-M", pdu: str = "P1", latest: date | None = MON + timedelta(weeks=10)):
    return [cap.WaitingDemand(programme, pdu, latest) for _ in range(n)]


def live(cohort_id: str = "C1", load_start: date = MON + timedelta(weeks=1), weeks: int = 2, **overrides):
    values = dict(programme_code="BC-M", pdu_code="P1", start_date=load_start, end_date=load_start + timedelta(weeks=8),
                  facilitator_weekly_hours=7.0, facilitators_required=2, live=True, group_weeks=weeks,
                  load_start=load_start, facilitator_ids=("F1", "F2"))
    return cap.CohortLoad(cohort_id, **{**values, **overrides})


def staff(facilitator_id: str = "F1", **overrides):
    values = dict(home_pdu="P1", programmes=frozenset({"BC-M"}), weekly_hours=30.0)
    return cap.FacilitatorSupply(facilitator_id, **{**values, **overrides})


def column(rows, field: str, programme: str = "BC-M", pdu: str = "P1") -> list[float]:
    return [getattr(r, field) for r in rows if r.programme_code == programme and r.pdu_code == pdu]


def test_waiting_people_need_enough_groups_from_the_first_week_for_the_weeks_a_group_runs():
    rows = cap.capacity_vs_demand(waiting(13), [], [], LOAD, MON, weeks=5)
    # ceil(13 / 12) = 2 groups x 2 facilitators x 7 h, for the programme's 3 group weeks
    assert column(rows, "waiting_hours") == [28.0, 28.0, 28.0, 0.0, 0.0]
    assert sum(column(rows, "demand_hours")) == 2 * 2 * 7.0 * 3


def test_a_group_longer_than_the_window_counts_only_the_weeks_inside_it():
    rows = cap.capacity_vs_demand(waiting(1), [], [], LOAD, MON, weeks=2)
    assert column(rows, "waiting_hours") == [14.0, 14.0]


def test_people_who_can_no_longer_finish_in_time_are_not_demand():
    gone = waiting(5, latest=MON - timedelta(days=1)) + waiting(5, latest=None)
    assert cap.capacity_vs_demand(gone, [], [], LOAD, MON, weeks=3) == []
    rows = cap.capacity_vs_demand(gone + waiting(1, latest=MON), [], [], LOAD, MON, weeks=3)
    assert column(rows, "waiting_hours") == [14.0, 14.0, 14.0]


def test_waiting_demand_is_counted_per_programme_and_pdu():
    rows = cap.capacity_vs_demand(waiting(3, pdu="P1") + waiting(3, pdu="P2") + waiting(1, "DIDP", "P2"), [], [],
                                  LOAD, MON, weeks=1)
    assert {(r.programme_code, r.pdu_code): r.waiting_hours for r in rows} == {
        ("BC-M", "P1"): 14.0, ("BC-M", "P2"): 14.0, ("DIDP", "P2"): 6.0}


def test_live_cohorts_commit_their_facilitators_hours_in_the_weeks_their_group_runs():
    rows = cap.capacity_vs_demand([], [live(weeks=2)], [], LOAD, MON, weeks=4)
    assert column(rows, "committed_hours") == [0.0, 14.0, 14.0, 0.0]


def test_cohorts_that_are_not_live_commit_nothing():
    assert cap.capacity_vs_demand([], [live(live=False)], [], LOAD, MON, weeks=4) == []


def test_without_group_weeks_a_cohort_loads_every_week_to_its_end():
    cohort = live(group_weeks=None, end_date=MON + timedelta(weeks=2, days=2))
    rows = cap.capacity_vs_demand([], [cohort], [], LOAD, MON, weeks=4)
    assert column(rows, "committed_hours") == [0.0, 14.0, 14.0, 0.0]


def test_capacity_is_split_evenly_across_the_programmes_a_facilitator_is_trained_for_in_their_home_pdu():
    rows = cap.capacity_vs_demand([], [], [staff(programmes=frozenset({"BC-M", "DIDP"}), home_pdu="P3")], LOAD,
                                  MON, weeks=1)
    assert {(r.programme_code, r.pdu_code): r.capacity_hours for r in rows} == {("BC-M", "P3"): 15.0,
                                                                                ("DIDP", "P3"): 15.0}


def test_absences_and_leaving_take_away_the_working_days_they_cover():
    absent = staff(absences=((MON + timedelta(days=1), MON + timedelta(days=2)),))  # Tue-Wed of week 1
    leaving = staff("F2", left_on=MON + timedelta(weeks=1, days=3))                 # gone from Thu of week 2
    rows = cap.capacity_vs_demand([], [], [absent, leaving], LOAD, MON, weeks=3)
    assert column(rows, "capacity_hours") == [30 * 3 / 5 + 30, 30 + 30 * 3 / 5, 30.0]


def test_a_weekend_absence_costs_no_hours():
    saturday = MON + timedelta(days=5)
    assert cap.available_share(staff(absences=((saturday, saturday + timedelta(days=1)),)), MON) == 1.0


def test_every_key_gets_a_row_for_every_week_and_the_gap_is_capacity_less_demand():
    rows = cap.capacity_vs_demand(waiting(1), [live()], [staff(home_pdu="P2")], LOAD, MON, weeks=3)
    assert [(r.programme_code, r.pdu_code) for r in rows] == [("BC-M", "P1")] * 3 + [("BC-M", "P2")] * 3
    assert [r.week_start for r in rows[:3]] == [MON, MON + timedelta(weeks=1), MON + timedelta(weeks=2)]
    assert [r.gap_hours for r in rows] == [-14.0, -28.0, -28.0, 30.0, 30.0, 30.0]


def test_a_window_starting_midweek_runs_from_its_monday():
    rows = cap.capacity_vs_demand([], [], [staff()], LOAD, MON + timedelta(days=3), weeks=2)
    assert [r.week_start for r in rows] == [MON, MON + timedelta(weeks=1)]


def test_totals_sum_per_key_over_the_first_weeks_and_count_short_weeks():
    rows = cap.capacity_vs_demand(waiting(13), [], [staff(weekly_hours=20.0)], LOAD, MON, weeks=6)
    (all_weeks,) = cap.totals(rows, by=("programme_code",))
    assert (all_weeks.demand_hours, all_weeks.capacity_hours, all_weeks.short_weeks) == (84.0, 120.0, 3)
    assert all_weeks.first_short_week == MON and all_weeks.gap_hours == 36.0
    (first_two,) = cap.totals(rows, by=("programme_code",), weeks=2)
    assert (first_two.demand_hours, first_two.capacity_hours, first_two.weeks) == (56.0, 40.0, 2)


def test_shortfalls_name_the_keys_short_in_the_next_weeks_worst_first():
    rows = cap.capacity_vs_demand(waiting(49) + waiting(1, "DIDP") + waiting(1, pdu="P2"), [live(load_start=MON)],
                                  [staff(weekly_hours=10.0), staff("F2", programmes=frozenset({"DIDP"}))],
                                  LOAD, MON, weeks=26)
    found = cap.shortfalls(rows, within_weeks=12, by=("programme_code", "pdu_code"))
    assert [t.key for t in found] == [("BC-M", "P1"), ("BC-M", "P2")]
    assert found[0].first_short_week == MON and found[0].gap_hours < found[1].gap_hours < 0
    assert cap.shortfalls(rows, within_weeks=12, by=("programme_code",))[0].key == ("BC-M",)


def test_utilisation_is_committed_over_contracted_hours_with_absences_off_the_available_hours():
    cohorts = [live(weeks=2), live("C2", live=False, facilitator_ids=("F2",))]
    people = [staff(absences=((MON, MON + timedelta(days=4)),)), staff("F2"), staff("F3", left_on=MON)]
    found = {u.facilitator_id: u for u in cap.facilitator_utilisation(cohorts, people, MON, weeks=4)}
    assert set(found) == {"F1", "F2"}  # F3 left before the window
    assert (found["F1"].contracted_hours, found["F1"].available_hours, found["F1"].committed_hours) == (120.0, 90.0, 14.0)
    assert found["F1"].utilisation == pytest.approx(14 / 120) and not found["F1"].overbooked
    assert found["F2"].committed_hours == 14.0  # on C1 (live); C2 is not live


def test_committed_above_available_hours_is_overbooked():
    heavy = [live(f"C{n}", weeks=4, load_start=MON, facilitator_weekly_hours=12.0) for n in range(3)]
    (u,) = cap.facilitator_utilisation(heavy, [staff()], MON, weeks=4)
    assert u.committed_hours == 144.0 and u.overbooked and u.utilisation == pytest.approx(1.2)


def test_programme_loads_use_the_fastest_usual_pattern_of_the_catalogue():
    catalogue, holidays = load_catalogue(), england_and_wales_bank_holidays()
    loads = cap.programme_loads(catalogue, holidays, MON)
    bc_m = catalogue.get("BC-M")
    slots = PATTERNS[2][1]
    assert loads["BC-M"] == cap.ProgrammeLoad(bc_m.max_size, bc_m.facilitators_per_group, weekly_hours(bc_m, 2),
                                              group_weeks(bc_m, slots, MON, holidays))
    assert loads["DIDP"].facilitator_weekly_hours == weekly_hours(catalogue.get("DIDP"), 1)  # once a week only
    assert set(loads) == set(catalogue.codes)
