"""Read-side rows → report facts: starts, deadlines and latest start dates derived as the planner does."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.domain.calendar import latest_start_date
from engine.domain.rules import EngineRules
from engine.reports.data import load_report_data
from engine.domain.deadlines import PATTERNS, latest_start_from

AS_OF = date(2026, 11, 16)


class FakeRows:
    """The report's read side, as plain rows (engine.persistence.report_queries answers the same shape)."""

    def __init__(self, referrals=(), on_programme=None, cohorts=(), facilitators=(), plans=()) -> None:
        self._referrals, self._on = list(referrals), dict(on_programme or {})
        self._cohorts, self._facilitators, self._plans = list(cohorts), list(facilitators), list(plans)

    def referrals(self, region):
        return self._referrals

    def first_on_programme(self, region):
        return self._on

    def cohorts(self, region):
        return self._cohorts

    def facilitators(self, region):
        return self._facilitators

    def plans(self, region):
        return self._plans

    def alerts(self, region):
        return [dict(alert_id="deadline.missed:referral:R1", kind="deadline.missed", workflow_state=None),
                dict(alert_id="deadline.missed:referral:R2", kind="deadline.missed", workflow_state="ACKNOWLEDGED")]


def referral_row(referral_id="R1", **overrides):
    row = dict(referral_id=referral_id, crn="X1", programme_code="BC-M", status="AWAITING_ALLOCATION",
               referred_on=AS_OF - timedelta(weeks=10), ready_from=None, pdu_code="P1", sex="MALE",
               ethnicity_group="WHITE", ldc=False, deadline=AS_OF + timedelta(weeks=40), cohort_id=None,
               cohort_start=None, cohort_end=None)
    return {**row, **overrides}


@pytest.mark.parametrize("code", ["BC-M", "BC-H", "DIDP", "LNM", "IHZ"])
def test_latest_starts_match_the_calendar_search_for_every_deadline(code):
    rules = EngineRules()
    programme = rules.catalogue.get(code)
    for days in range(0, 700, 5):
        deadline = AS_OF + timedelta(days=days)
        finish_by = deadline - timedelta(days=rules.deadline_margin_days)
        expected = max((d for c, (_, slots) in PATTERNS.items() if c in programme.cadences
                        if (d := latest_start_date(programme, slots, finish_by, rules.is_holiday, AS_OF))),
                       default=None)
        assert latest_start_from(rules.catalogue, code, deadline, rules.deadline_margin_days, rules.is_holiday,
                                 AS_OF) == expected, deadline


def test_a_start_is_the_cohort_start_of_the_place_held_or_else_the_first_on_programme_date():
    rows = FakeRows([
        referral_row("R1", status="SCHEDULED", cohort_id="C1", cohort_start=AS_OF - timedelta(weeks=2),
                     cohort_end=AS_OF + timedelta(weeks=10)),
        referral_row("R2", status="SCHEDULED", cohort_id="C2", cohort_start=AS_OF + timedelta(weeks=2),
                     cohort_end=AS_OF + timedelta(weeks=20)),
        referral_row("R3", status="WITHDRAWN"),
        referral_row("R4", status="ON_PROGRAMME"),
    ], on_programme={"R3": AS_OF - timedelta(weeks=5), "R4": AS_OF + timedelta(days=1)})
    facts = {f.referral_id: f for f in load_report_data(rows, "RS", AS_OF).referrals}
    assert facts["R1"].started_on == AS_OF - timedelta(weeks=2)
    assert facts["R2"].started_on is None            # starts after the report date
    assert facts["R3"].started_on == AS_OF - timedelta(weeks=5)
    assert facts["R4"].started_on is None            # after the report date


def test_latest_start_is_worked_out_only_for_open_referrals_without_a_place_and_a_deadline_ahead():
    rows = FakeRows([referral_row("R1"), referral_row("R2", deadline=AS_OF - timedelta(days=1)),
                     referral_row("R3", status="SCHEDULED", cohort_id="C1", cohort_start=AS_OF,
                              cohort_end=AS_OF + timedelta(weeks=14)),
                     referral_row("R4", deadline=AS_OF + timedelta(weeks=5))])
    facts = {f.referral_id: f for f in load_report_data(rows, "RS", AS_OF).referrals}
    assert facts["R1"].latest_start is not None and AS_OF < facts["R1"].latest_start < facts["R1"].deadline
    assert facts["R2"].latest_start is None and facts["R3"].latest_start is None
    assert facts["R4"].latest_start is None  # no cohort starting now finishes 5 weeks out
    assert facts["R1"].waiting and facts["R1"].unplaced_open and not facts["R3"].unplaced_open


def test_cohorts_carry_the_facilitator_load_of_their_weekly_pattern_and_facilitators_their_absences():
    cohort = dict(cohort_id="C1", programme_code="BC-M", office_code="O1", pdu_code="P1",
                  slots=[[0, "10:00", "DAYTIME"], [2, "10:00", "DAYTIME"]], start_date="2026-12-01",
                  end_date=date(2027, 3, 1), group_weeks=13, group_start=None, min_size=6, max_size=12,
                  status="CONFIRMED", origin="PLAN", facilitator_ids=["F1", "F2"], members=7)
    staff = dict(facilitator_id="F1", home_pdu="P1", programmes=["BC-M", "BBR"], weekly_hours=31.5,
                 absences=[["2026-12-01", "2026-12-05"]], left_on=None)
    data = load_report_data(FakeRows(cohorts=[cohort], facilitators=[staff]), "RS", AS_OF)
    assert data.alerts == (("deadline.missed", "OPEN"), ("deadline.missed", "ACKNOWLEDGED"))
    (c,) = data.cohorts
    assert (c.live, c.facilitator_weekly_hours, c.facilitators_required, c.members) == (True, 7.0, 2, 7)
    assert c.start_date == date(2026, 12, 1) and c.facilitator_ids == ("F1", "F2")
    (f,) = data.facilitators
    assert f.absences == ((date(2026, 12, 1), date(2026, 12, 5)),) and f.programmes == {"BC-M", "BBR"}
    assert data.programmes["BC-M"].facilitators_per_group == 2
