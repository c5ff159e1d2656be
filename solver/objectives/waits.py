"""Soft (tier 2): waits from referral to start, with steps at the wait target and at a year."""
from __future__ import annotations

from datetime import date

from solver.build import Term
from solver.schema import Demand, Params

YEAR_WEEKS = 52


def wait_cost(demand: Demand, start: date, params: Params) -> int:
    """Weeks from referral to start, + a step past the target and another past a year; doubled for HIGH
    risk. The steps are what pulls the 92nd percentile down rather than only the mean."""
    weeks = max(0, round((start - demand.referred_on).days / 7))
    cost = weeks + params.wait_step_weeks * ((weeks > params.wait_target_weeks) + (weeks > YEAR_WEEKS))
    return cost * (2 if demand.risk_band == "HIGH" else 1)


def waits(b) -> Term:
    """Soft: Σ wait cost of each person's start (unplaced: as if starting at the horizon's end), less
    move_threshold_weeks for the cohort they already hold (week-equivalents).

    The credit is the switching cost of a published place: a move has to shorten a wait by more than
    the threshold to be worth telling the person, so weekly re-plans do not churn for a week's gain.
    """
    term = Term("waits", 2)
    for demand in b.problem.demands:
        unplaced = wait_cost(demand, b.horizon_end, b.params)
        term.constant += unplaced
        for cid in b.vars.cohorts_of.get(demand.referral_id, ()):
            credit = b.params.move_threshold_weeks if cid == demand.current_cohort_id else 0
            term.add(wait_cost(demand, b.cohorts[cid].start_date, b.params) - credit - unplaced,
                     b.vars.x[(demand.referral_id, cid)])
    return term
