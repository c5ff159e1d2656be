"""Tiny report inputs: facts built by hand, so each section's rule is visible in its test."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from engine.reports.data import CohortFact, ReferralFact, ReportData
from engine.domain.capacity import FacilitatorSupply, ProgrammeLoad

AS_OF = date(2026, 3, 2)  # a Monday
MONDAY = AS_OF
BC_M = ProgrammeLoad(max_size=12, facilitators_per_group=2, facilitator_weekly_hours=7.0, group_weeks=13)

_REFERRAL = ReferralFact(
    referral_id="R1", crn="X000001", programme_code="BC-M", status="AWAITING_ALLOCATION",
    referred_on=AS_OF - timedelta(weeks=10), pdu_code="P1", sex="MALE", ethnicity_group="WHITE", ldc=False,
    deadline=AS_OF + timedelta(weeks=60), latest_start=AS_OF + timedelta(weeks=30))

_COHORT = CohortFact(
    cohort_id="C1", programme_code="BC-M", office_code="P1-O1", pdu_code="P1", status="CONFIRMED", origin="DELIVERY",
    start_date=AS_OF + timedelta(weeks=3), end_date=AS_OF + timedelta(weeks=20), min_size=6, max_size=12, members=8,
    facilitator_ids=("F1", "F2"), group_weeks=13, group_start=AS_OF + timedelta(weeks=5),
    facilitator_weekly_hours=7.0, facilitators_required=2)


def make_referral(n: int = 1, **overrides) -> ReferralFact:
    return replace(_REFERRAL, referral_id=f"R{n}", crn=f"X{n:06d}", **overrides)


def placed(n: int = 1, start: date = AS_OF - timedelta(weeks=2), end: date | None = None, **overrides) -> ReferralFact:
    """Holding a place on a cohort starting ``start`` (started already when on or before as of)."""
    return make_referral(n, status="SCHEDULED", cohort_id="C1", cohort_start=start,
                         cohort_end=end or start + timedelta(weeks=15), latest_start=None,
                         started_on=start if start <= AS_OF else None, **overrides)


def make_cohort(cohort_id: str = "C1", **overrides) -> CohortFact:
    return replace(_COHORT, cohort_id=cohort_id, **overrides)


def make_facilitator(facilitator_id: str = "F1", **overrides) -> FacilitatorSupply:
    values = dict(home_pdu="P1", programmes=frozenset({"BC-M"}), weekly_hours=31.5)
    return FacilitatorSupply(facilitator_id, **{**values, **overrides})


def make_data(referrals=(), cohorts=(), facilitators=(), as_of: date = AS_OF, margin_days: int = 14) -> ReportData:
    return ReportData("RS", as_of, margin_days, tuple(referrals), tuple(cohorts), tuple(facilitators), {"BC-M": BC_M})
