"""Soft (tier 1): people who will miss their deadline, weighted by risk band and urgency, and more for a person
whose group's realised in-time share trails the region's (``Demand.equity_weight``, set by the engine)."""
from __future__ import annotations

from datetime import date, timedelta

from solver.build import Build, Term
from solver.rules import latest_end
from solver.schema import Demand, Params

RISK_WEIGHT = {"HIGH": 3, "MEDIUM": 2, "LOW": 1}
URGENT_WEEKS = 26  # latest end within this many weeks: one more point


def miss_weight(demand: Demand, params: Params, as_of: date) -> int:
    """3/2/1 by risk band, +1 when the latest possible end is within URGENT_WEEKS, + the demand's equity weight."""
    urgent = latest_end(demand, params) <= as_of + timedelta(weeks=URGENT_WEEKS)
    return RISK_WEIGHT.get(demand.risk_band, 1) + int(urgent) + demand.equity_weight


def deadline_misses(b: Build) -> Term:
    """Soft: Σ weight × (1 − placed) over people who must start within this plan to finish in time
    (weighted people). People with no place possible count as a constant."""
    term = Term("deadline_misses", 1)
    for demand in b.problem.demands:
        if b.deferrable(demand):
            continue
        weight = miss_weight(demand, b.params, b.as_of)
        term.constant += weight
        for var in b.vars.choices(demand.referral_id):
            term.add(-weight, var)
    return term
