"""Factories for solver tests: sensible defaults that fit together, overridden per test.

By default a demand is compatible with a cohort and both default facilitators can run it.
"""
from __future__ import annotations

from datetime import date

from solver.schema import CohortOption, CohortState, Demand, Facilitator, Office, Params, Problem, Slot

AS_OF = date(2025, 1, 6)  # a Monday


def make_demand(**overrides) -> Demand:
    defaults = dict(
        referral_id="R1",
        crn="X001",
        programme_code="BC",
        pathway="MODERATE",
        offence_cohort="GENERAL_OFFENCE",
        ldc=False,
        sex="MALE",
        risk_band="MEDIUM",
        referred_on=date(2024, 10, 1),
        ready_from=date(2024, 10, 1),
        deadline=date(2026, 1, 1),
    )
    return Demand(**{**defaults, **overrides})


def make_cohort(**overrides) -> CohortOption:
    defaults = dict(
        cohort_id="C1",
        programme_code="BC",
        pathway="MODERATE",
        offence_cohort="GENERAL_OFFENCE",
        ldc=False,
        sex="MIXED",
        office_code="OFF1",
        pdu_code="PDU1",
        slots=(Slot(1, "10:00"),),
        start_date=date(2025, 2, 4),
        end_date=date(2025, 5, 6),
        min_size=1,
        max_size=8,
        state=CohortState.OPEN,
    )
    return CohortOption(**{**defaults, **overrides})


def make_facilitator(**overrides) -> Facilitator:
    defaults = dict(
        facilitator_id="F1",
        programmes=frozenset({"BC"}),
        offices=frozenset({"OFF1"}),
        weekly_hours=14.0,
    )
    return Facilitator(**{**defaults, **overrides})


def make_problem(demands=(), cohorts=(), facilitators=(), offices=(), **params) -> Problem:
    return Problem(
        region_code="REG",
        as_of=AS_OF,
        demands=tuple(demands),
        cohorts=tuple(cohorts),
        facilitators=tuple(facilitators),
        offices=tuple(offices),
        params=Params(**params),
    )


def make_office(**overrides) -> Office:
    return Office(**{**dict(office_code="OFF1", pdu_code="PDU1", rooms=1), **overrides})


def two_facilitators(**overrides) -> list[Facilitator]:
    """The pair a default candidate needs."""
    return [make_facilitator(facilitator_id=fid, **overrides) for fid in ("F1", "F2")]


def people(count: int, **overrides) -> list[Demand]:
    """Distinct compatible referrals R01..Rnn referred on consecutive days."""
    return [
        make_demand(referral_id=f"R{i:02d}", crn=f"X{i:03d}",
                    referred_on=date(2024, 10, 1 + i), **overrides)
        for i in range(1, count + 1)
    ]
