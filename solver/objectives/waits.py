"""Soft (tier 2): waits from referral to start, costing more per week past the wait target and again past a year."""
from __future__ import annotations

from datetime import date, timedelta

from solver.build import Build, Term
from solver.schema import Demand, Params

YEAR_WEEKS = 52


def wait_cost(demand: Demand, start: date, params: Params) -> int:
    """Weeks from referral to start, the slope stepping up by ``wait_slope_step`` past the target and again
    past a year; doubled for HIGH risk; × (1 + the demand's equity weight) for a person of a group whose realised
    in-time share trails the region's (0 unless the engine's equity setting is on), so that among people who
    may still wait, the plan opens their groups first.

    Convex on purpose: a week saved for someone already past the target is worth more than a week saved for
    someone under it, so the long tail (the 92nd percentile) is cut first. A flat step at the target would
    do the opposite, favouring people who can still make the target over those who already missed it."""
    weeks = max(0, round((start - demand.referred_on).days / 7))
    extra = max(0, weeks - params.wait_target_weeks) + max(0, weeks - YEAR_WEEKS)
    risk = 2 if demand.risk_band == "HIGH" else 1
    return (weeks + params.wait_slope_step * extra) * risk * (1 + demand.equity_weight)


def waits(b: Build) -> Term:
    """Soft: Σ wait cost of each person's start (unplaced: as if starting at the horizon's end), the cohort
    they already hold costed as if it started move_threshold_weeks earlier (week-equivalents).

    The credit is the switching cost of a published place: a move has to shorten a wait by more than
    the threshold to be worth telling the person, so weekly re-plans do not churn for a week's gain.
    """
    term = Term("waits", 2)
    for demand in b.problem.demands:
        unplaced = wait_cost(demand, b.horizon_end, b.params)
        term.constant += unplaced
        for cid in b.vars.cohorts_of.get(demand.referral_id, ()):
            start = b.cohorts[cid].start_date
            if cid == demand.current_cohort_id:
                start -= timedelta(weeks=b.params.move_threshold_weeks)
            term.add(wait_cost(demand, start, b.params) - unplaced, b.vars.x[(demand.referral_id, cid)])
    return term
