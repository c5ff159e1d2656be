"""Latest start dates per weekly pattern for a referral's deadline."""
from __future__ import annotations

from datetime import date, timedelta

from engine.calendars import england_and_wales_bank_holidays
from engine.domain.calendar import cohort_end_date
from engine.domain.programmes import load_catalogue
from engine.domain.deadlines import PATTERNS, latest_starts

HOLIDAYS = england_and_wales_bank_holidays()


def test_the_latest_start_on_each_pattern_still_finishes_before_the_deadline_minus_the_margin():
    catalogue = load_catalogue()
    deadline = date(2026, 12, 31)
    found = latest_starts(catalogue, "BC-M", deadline, 14, date(2025, 1, 6), HOLIDAYS)
    assert set(found) == {PATTERNS[2][0], PATTERNS[1][0]}
    for cadence in (1, 2):
        label, slots = PATTERNS[cadence]
        start = found[label]
        assert cohort_end_date(catalogue.get("BC-M"), slots, start, HOLIDAYS) <= deadline - timedelta(days=14)
        assert cohort_end_date(catalogue.get("BC-M"), slots, start + timedelta(days=7), HOLIDAYS) > \
            deadline - timedelta(days=14)
    # the twice-weekly track is shorter, so it can start later
    assert found[PATTERNS[2][0]] > found[PATTERNS[1][0]]


def test_no_start_date_when_even_the_earliest_start_would_finish_too_late():
    found = latest_starts(load_catalogue(), "BC-M", date(2025, 3, 1), 14, date(2025, 1, 6), HOLIDAYS)
    assert found and all(value is None for value in found.values())
