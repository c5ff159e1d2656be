from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendars import england_and_wales_bank_holidays
from engine.domain.calendar import (
    Period, WeeklySlot, cohort_end_date, group_weeks, latest_start_date, no_holidays, schedule_sessions,
    weeks_spanned,
)
from engine.domain.errors import DomainError
from engine.domain.programmes import (
    GapFrom, Intake, LdcRule, Programme, SessionKind, SessionTemplate, load_catalogue,
)

MON = WeeklySlot(0, "10:00", Period.DAYTIME)
THU = WeeklySlot(3, "10:00", Period.DAYTIME)
WED_EVENING = WeeklySlot(2, "18:00", Period.EVENING)
EASTER_MONDAY_2026 = date(2026, 4, 6)
MONDAY_5_JAN_2026 = date(2026, 1, 5)


def bcm() -> Programme:
    return load_catalogue().get("BC-M")


def holidays_on(*days: date):
    return frozenset(days).__contains__


def weeks_between(first: date, last: date) -> float:
    return (last - first).days / 7


def make_programme(*sessions: SessionTemplate, cadences=(1, 2)) -> Programme:
    return Programme(
        code="TEST", name="Test", sessions=sessions, cadences=cadences, min_size=6, hard_min_size=4,
        max_size=12, facilitators_per_group=2, facilitators_per_one_to_one=1,
        prep_minutes_per_group_session=60, intake=Intake.CLOSED, eligible_sexes=frozenset({"MALE"}),
        ldc_rule=LdcRule.ANY, offence_cohorts=frozenset({"GENERAL_OFFENCE"}),
        pathways=frozenset({"MODERATE"}),
    )


# --- programme length ---------------------------------------------------------------------------

def test_building_choices_moderate_takes_about_33_weeks_at_one_slot_a_week():
    sessions = schedule_sessions(bcm(), [MON], MONDAY_5_JAN_2026, no_holidays)
    assert len(sessions) == 27
    assert 32 <= weeks_between(sessions[0].on, sessions[-1].on) <= 34


def test_building_choices_moderate_takes_about_21_weeks_at_two_slots_a_week():
    sessions = schedule_sessions(bcm(), [MON, THU], MONDAY_5_JAN_2026, no_holidays)
    assert 20 <= weeks_between(sessions[0].on, sessions[-1].on) <= 22


def test_building_choices_length_holds_on_the_real_calendar_for_an_evening_track():
    start = date(2026, 1, 7)  # a Wednesday
    end = cohort_end_date(bcm(), [WED_EVENING], start, england_and_wales_bank_holidays())
    assert 32 <= weeks_between(start, end) <= 34


# --- filling slots ------------------------------------------------------------------------------

def test_sessions_fill_the_slots_in_weekly_order_one_session_per_slot():
    sessions = schedule_sessions(bcm(), [THU, MON], MONDAY_5_JAN_2026, no_holidays)
    assert [s.on.weekday() for s in sessions[1:6]] == [0, 3, 0, 3, 0]
    assert [s.number for s in sessions] == list(range(1, 28))
    assert len({s.on for s in sessions}) == 27


def test_the_first_session_takes_the_first_slot_on_or_after_the_start_date():
    sunday = date(2026, 1, 4)
    assert schedule_sessions(bcm(), [MON], sunday, no_holidays)[0].on == MONDAY_5_JAN_2026


def test_one_to_ones_take_a_slot_of_their_own():
    sessions = schedule_sessions(bcm(), [MON], MONDAY_5_JAN_2026, no_holidays)
    module_one_to_one = next(s for s in sessions[1:] if s.kind is SessionKind.ONE_TO_ONE)
    assert module_one_to_one.on == sessions[module_one_to_one.number - 2].on + timedelta(weeks=1)
    assert module_one_to_one.minutes == 60 and module_one_to_one.module == "Managing myself"


# --- bank holidays ------------------------------------------------------------------------------

def test_a_session_on_easter_monday_moves_to_the_next_monday_and_the_cohort_ends_a_week_later():
    plain = schedule_sessions(bcm(), [MON], MONDAY_5_JAN_2026, no_holidays)
    easter = schedule_sessions(bcm(), [MON], MONDAY_5_JAN_2026, holidays_on(EASTER_MONDAY_2026))
    moved = next(i for i, s in enumerate(plain) if s.on == EASTER_MONDAY_2026)
    assert easter[moved].on == date(2026, 4, 13)
    assert EASTER_MONDAY_2026 not in {s.on for s in easter}
    assert [s.on for s in easter[:moved]] == [s.on for s in plain[:moved]]
    assert easter[-1].on == plain[-1].on + timedelta(weeks=1)


def test_a_holiday_on_the_start_date_pushes_the_first_session_to_the_next_slot():
    first = schedule_sessions(bcm(), [MON, THU], MONDAY_5_JAN_2026, holidays_on(MONDAY_5_JAN_2026))[0]
    assert first.on == date(2026, 1, 8)


def test_group_weeks_count_the_holiday_week_the_group_still_spans():
    assert group_weeks(bcm(), [MON], MONDAY_5_JAN_2026, no_holidays) == 25
    assert group_weeks(bcm(), [MON], MONDAY_5_JAN_2026, holidays_on(EASTER_MONDAY_2026)) == 26
    assert group_weeks(bcm(), [MON, THU], MONDAY_5_JAN_2026, no_holidays) == 13


def test_a_calendar_where_every_day_is_a_holiday_is_refused_rather_than_looping():
    with pytest.raises(DomainError, match="no usable slot"):
        schedule_sessions(bcm(), [MON], MONDAY_5_JAN_2026, lambda day: True)


# --- gaps ---------------------------------------------------------------------------------------

def test_groups_start_three_weeks_after_the_pre_group_session():
    sessions = schedule_sessions(bcm(), [MON, THU], MONDAY_5_JAN_2026, no_holidays)
    assert sessions[1].on - sessions[0].on == timedelta(weeks=3)


def test_the_review_comes_six_weeks_after_the_last_group_session():
    sessions = schedule_sessions(bcm(), [MON], MONDAY_5_JAN_2026, no_holidays)
    last_group = [s for s in sessions if s.is_group][-1]
    assert sessions[-1].label == "post-programme review"
    assert sessions[-1].on - last_group.on == timedelta(weeks=6)


def test_a_gap_lands_on_the_first_slot_at_least_that_many_weeks_later():
    # Pre-group on a Thursday, slots Mon/Thu: three weeks later is a Thursday, exactly.
    sessions = schedule_sessions(bcm(), [MON, THU], date(2026, 1, 8), no_holidays)
    assert sessions[1].on == date(2026, 1, 29)


def test_a_review_gap_counts_from_the_last_group_not_a_later_one_to_one():
    programme = make_programme(
        SessionTemplate(SessionKind.GROUP, 150, count=2),
        SessionTemplate(SessionKind.ONE_TO_ONE, 60),
        SessionTemplate(SessionKind.ONE_TO_ONE, 60, min_gap_weeks_before=6,
                        min_gap_from=GapFrom.LAST_GROUP_SESSION),
    )
    sessions = schedule_sessions(programme, [MON], MONDAY_5_JAN_2026, no_holidays)
    assert sessions[-1].on == sessions[1].on + timedelta(weeks=6)


def test_a_previous_session_gap_counts_from_the_session_just_before():
    programme = make_programme(
        SessionTemplate(SessionKind.GROUP, 150, count=2),
        SessionTemplate(SessionKind.ONE_TO_ONE, 60),
        SessionTemplate(SessionKind.ONE_TO_ONE, 60, min_gap_weeks_before=6),
    )
    sessions = schedule_sessions(programme, [MON], MONDAY_5_JAN_2026, no_holidays)
    assert sessions[-1].on == sessions[2].on + timedelta(weeks=6)


def test_a_holiday_at_the_end_of_a_gap_pushes_the_session_to_the_following_slot():
    three_weeks_on = MONDAY_5_JAN_2026 + timedelta(weeks=3)
    sessions = schedule_sessions(bcm(), [MON], MONDAY_5_JAN_2026, holidays_on(three_weeks_on))
    assert sessions[1].on == three_weeks_on + timedelta(weeks=1)


# --- slots --------------------------------------------------------------------------------------

def test_a_slot_count_the_programme_does_not_run_is_refused():
    with pytest.raises(DomainError, match="DIDP runs 1 session"):
        schedule_sessions(load_catalogue().get("DIDP"), [MON, THU], MONDAY_5_JAN_2026, no_holidays)


def test_the_same_slot_twice_is_refused():
    with pytest.raises(DomainError, match="twice"):
        schedule_sessions(bcm(), [MON, MON], MONDAY_5_JAN_2026, no_holidays)


@pytest.mark.parametrize("weekday, start, period", [
    (7, "10:00", "DAYTIME"), (-1, "10:00", "DAYTIME"), (0, "9:00", "DAYTIME"), (0, "24:00", "DAYTIME"),
    (0, "10:00", "NIGHT"),
])
def test_malformed_slots_are_refused(weekday, start, period):
    with pytest.raises(DomainError):
        WeeklySlot(weekday, start, period)


def test_a_slot_accepts_its_period_as_plain_text():
    assert WeeklySlot(2, "18:00", "EVENING").period is Period.EVENING


def test_weeks_spanned_counts_monday_to_sunday_weeks():
    assert weeks_spanned([date(2026, 1, 4), date(2026, 1, 5)]) == 2  # Sunday, then Monday
    assert weeks_spanned([]) == 0


# --- latest start date --------------------------------------------------------------------------

def test_a_cohort_starting_on_the_latest_start_date_ends_by_the_deadline_and_a_week_later_does_not():
    is_holiday = england_and_wales_bank_holidays()
    deadline = date(2026, 12, 1)
    latest = latest_start_date(bcm(), [MON], deadline, is_holiday, earliest=date(2026, 1, 1))
    assert latest is not None and latest.weekday() == 0
    assert cohort_end_date(bcm(), [MON], latest, is_holiday) <= deadline
    assert cohort_end_date(bcm(), [MON], latest + timedelta(weeks=1), is_holiday) > deadline


def test_the_latest_start_date_may_end_exactly_on_the_deadline():
    end = cohort_end_date(bcm(), [MON], MONDAY_5_JAN_2026, no_holidays)
    assert latest_start_date(bcm(), [MON], end, no_holidays, earliest=date(2025, 6, 1)) == MONDAY_5_JAN_2026


def test_no_latest_start_date_when_even_the_earliest_start_ends_too_late():
    earliest = MONDAY_5_JAN_2026
    deadline = earliest + timedelta(weeks=20)
    assert latest_start_date(bcm(), [MON], deadline, no_holidays, earliest=earliest) is None
    assert latest_start_date(bcm(), [MON], earliest - timedelta(days=1), no_holidays, earliest) is None


def test_the_latest_start_date_is_never_a_bank_holiday():
    end_if_easter_start = cohort_end_date(bcm(), [MON], EASTER_MONDAY_2026, no_holidays)
    latest = latest_start_date(bcm(), [MON], end_if_easter_start, holidays_on(EASTER_MONDAY_2026),
                               earliest=MONDAY_5_JAN_2026)
    assert latest == date(2026, 3, 30)


SLOT_SETS = [(MON,), (WED_EVENING,), (MON, THU), (WeeklySlot(1, "09:30"), WeeklySlot(4, "13:00"))]


@settings(max_examples=60, deadline=None)
@given(
    code=st.sampled_from(["BC-M", "BC-H", "BBR", "TSP", "KZN", "HZN"]),
    slots=st.sampled_from(SLOT_SETS),
    earliest=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    days_to_deadline=st.integers(min_value=-30, max_value=3 * 365),
)
def test_latest_start_date_is_the_last_start_that_still_finishes_in_time(code, slots, earliest,
                                                                        days_to_deadline):
    programme = load_catalogue().get(code)
    is_holiday = england_and_wales_bank_holidays()
    deadline = earliest + timedelta(days=days_to_deadline)
    latest = latest_start_date(programme, slots, deadline, is_holiday, earliest)
    if latest is None:
        assert deadline < earliest or cohort_end_date(programme, slots, earliest, is_holiday) > deadline
        return
    assert earliest <= latest and latest.weekday() in {s.weekday for s in slots}
    assert not is_holiday(latest)
    assert schedule_sessions(programme, slots, latest, is_holiday)[0].on == latest
    assert cohort_end_date(programme, slots, latest, is_holiday) <= deadline
    # Any later start (the next slot onwards) would miss the deadline.
    assert cohort_end_date(programme, slots, latest + timedelta(days=1), is_holiday) > deadline


# --- England and Wales bank holidays (engine.calendars adapter) ---------------------------------

@pytest.mark.parametrize("day", [date(2025, 12, 25), date(2025, 12, 26), date(2026, 4, 3), date(2026, 8, 31)])
def test_england_and_wales_bank_holidays_are_holidays(day):
    assert england_and_wales_bank_holidays()(day)


def test_an_ordinary_monday_is_not_a_bank_holiday():
    assert not england_and_wales_bank_holidays()(date(2026, 8, 24))


def test_the_bank_holiday_calendar_answers_for_any_year():
    is_holiday = england_and_wales_bank_holidays()
    assert is_holiday(date(2031, 12, 25)) and is_holiday(date(1999, 12, 27))


# A holiday on a weekend: the substitute weekday is the bank holiday, the weekend date is not.
SAT = WeeklySlot(5, "10:00")
SUN = WeeklySlot(6, "10:00")


@pytest.mark.parametrize("weekend_date, substitute", [
    (date(2026, 12, 26), date(2026, 12, 28)),  # Boxing Day on a Saturday → Monday
    (date(2021, 12, 25), date(2021, 12, 27)),  # Christmas Day on a Saturday → Monday
    (date(2021, 12, 26), date(2021, 12, 28)),  # Boxing Day on a Sunday → Tuesday
    (date(2022, 1, 1), date(2022, 1, 3)),  # New Year's Day on a Saturday → Monday
])
def test_a_bank_holiday_on_a_weekend_is_its_substitute_weekday_not_the_weekend_date(weekend_date, substitute):
    is_holiday = england_and_wales_bank_holidays()
    assert weekend_date.weekday() >= 5 and not is_holiday(weekend_date)
    assert substitute.weekday() < 5 and is_holiday(substitute)


def test_no_bank_holiday_in_england_and_wales_falls_on_a_weekend():
    is_holiday = england_and_wales_bank_holidays()
    day, last = date(1995, 1, 1), date(2040, 12, 31)
    while day <= last:
        assert not (day.weekday() >= 5 and is_holiday(day)), day
        day += timedelta(days=1)


@pytest.mark.parametrize("slot, nominal", [(SAT, date(2026, 12, 26)), (SUN, date(2021, 12, 26))])
def test_a_weekend_slot_on_a_holidays_nominal_date_runs_and_the_substitute_weekday_is_skipped(slot, nominal):
    is_holiday = england_and_wales_bank_holidays()
    assert schedule_sessions(bcm(), [slot], nominal, is_holiday)[0].on == nominal
    assert schedule_sessions(bcm(), [MON], date(2026, 12, 28), is_holiday)[0].on == date(2027, 1, 4)


# --- the kept slot tables against the rules walked day by day -----------------------------------

def walked_schedule(programme: Programme, slots, start: date, is_holiday) -> list[tuple[int, date, WeeklySlot]]:
    """The calendar rules read plainly (the module's docstring): walk the days from the start, one session per
    usable slot in weekly order, a session with a gap waiting for the first slot at least that far from its anchor."""
    ordered = sorted(slots)
    out: list[tuple[date, WeeklySlot, bool]] = []
    day, taken = start, set()
    for template in programme.sessions_in_order:
        not_before = None
        if template.min_gap_weeks_before and out:
            groups = [d for d, _, group in out if group]
            anchor = groups[-1] if template.min_gap_from is GapFrom.LAST_GROUP_SESSION and groups else out[-1][0]
            not_before = anchor + timedelta(weeks=template.min_gap_weeks_before)
        while True:
            free = [s for s in ordered if s.weekday == day.weekday() and (day, s) not in taken and not is_holiday(day)
                    and (not out or (day, s) > (out[-1][0], out[-1][1]))]
            if free and (not_before is None or day >= not_before):
                out.append((day, free[0], template.kind is SessionKind.GROUP))
                taken.add((day, free[0]))
                break
            day += timedelta(days=1)
    return [(n, d, s) for n, (d, s, _) in enumerate(out, start=1)]


@settings(max_examples=80, deadline=None)
@given(
    code=st.sampled_from(["BC-M", "BC-H", "BBR", "TSP", "KZN", "HZN"]),
    slots=st.sampled_from(SLOT_SETS + [(WeeklySlot(0, "09:00"), WeeklySlot(0, "14:00"))]),
    starts=st.lists(st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31)), min_size=1, max_size=4),
    holidays=st.frozensets(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)), max_size=40),
)
def test_schedules_from_the_kept_slot_tables_are_the_calendar_rules_walked_day_by_day(code, slots, starts, holidays):
    """Starts far apart, in any order, widen and replace the kept table of the same slots and calendar."""
    programme = load_catalogue().get(code)
    if len(slots) not in programme.cadences:
        slots = slots[:1] if 1 in programme.cadences else slots
    is_holiday = holidays.__contains__
    for start in starts:
        got = [(s.number, s.on, s.slot) for s in schedule_sessions(programme, slots, start, is_holiday)]
        assert got == walked_schedule(programme, slots, start, is_holiday)
        if (latest := latest_start_date(programme, slots, got[-1][1], is_holiday, start)) is not None:
            assert cohort_end_date(programme, slots, latest, is_holiday) <= got[-1][1]


def test_tables_let_go_past_the_limit_are_made_again_and_schedules_stay_the_rules(monkeypatch):
    import engine.domain.calendar as calendar
    monkeypatch.setattr(calendar, "_MAX_TABLES", 2)
    monkeypatch.setattr(calendar, "_TABLES", calendar.OrderedDict())
    programme, start = bcm(), date(2026, 3, 30)
    calendars = [holidays_on(start + timedelta(days=7 * n)) for n in range(4)]
    for is_holiday in calendars * 2:  # each table let go before it is asked for again
        got = [(s.number, s.on, s.slot) for s in schedule_sessions(programme, (MON, THU), start, is_holiday)]
        assert got == walked_schedule(programme, (MON, THU), start, is_holiday)
        assert len(calendar._TABLES) <= 2
