"""The closed loop's public measure: who counts (orders ended in the window, not cut short) and who started
in time (attended, or held a place on a cohort that began by the deadline and the end of the window)."""
from __future__ import annotations

from datetime import date

from engine.services.metrics import counted, start_share, started_in_time

WINDOW, AS_OF = date(2025, 1, 6), date(2026, 1, 5)


def row(**over):
    base = dict(referral_id="R1", referred_on=date(2025, 2, 1), deadline=date(2025, 9, 1), status="SCHEDULED",
                requirement_status="ACTIVE", cohort_start=None, ever_on_programme=False)
    return base | over


def test_only_orders_that_ended_in_the_window_and_were_not_cut_short_count():
    assert counted(row(), WINDOW, AS_OF)
    assert not counted(row(referred_on=date(2024, 12, 1)), WINDOW, AS_OF)   # referred before the window
    assert not counted(row(deadline=date(2026, 3, 1)), WINDOW, AS_OF)       # order still running
    assert not counted(row(requirement_status="TERMINATED", status="WITHDRAWN"), WINDOW, AS_OF)
    assert counted(row(requirement_status="TERMINATED", status="PROGRAMME_COMPLETE"), WINDOW, AS_OF)
    assert counted(row(deadline=date(2026, 3, 1)), WINDOW, date.max)          # the caseload: any deadline


def test_a_start_counts_by_the_deadline_and_the_end_of_the_window():
    assert started_in_time(row(ever_on_programme=True), AS_OF)
    assert started_in_time(row(cohort_start=date(2025, 9, 1)), AS_OF)
    assert not started_in_time(row(cohort_start=date(2025, 9, 2)), AS_OF)
    assert not started_in_time(row(deadline=date(2026, 3, 1), cohort_start=date(2026, 2, 1)), AS_OF)
    share = start_share([row(), row(referral_id="R2", cohort_start=date(2025, 3, 3))], WINDOW, AS_OF)
    assert (share.orders_ended, share.started_in_time, share.share) == (2, 1, 0.5)
