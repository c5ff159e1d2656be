"""Capacity shortfall forecast for a programme in the region over the next ``capacity_weeks`` weeks.

Demand and capacity come from :mod:`engine.domain.capacity` (the same numbers as the weekly
report's capacity section): facilitator hours needed for the people waiting who can still finish in
time plus the groups already running, against trained facilitators' hours less absences and leavers.
Raised when demand exceeds capacity by more than ``capacity_shortfall_pct``; CRITICAL when it is more
than half as much again, or there is no trained capacity at all.

Region-wide per programme, not per PDU: facilitators run groups at hubs outside their home PDU, so a
PDU with no trained facilitator of its own is not short by itself (the report breaks the same numbers
down by PDU for planners). The PDU with the largest gap is named. Hours are rounded to 50 in the
numbers, so a forecast that drifts by a few hours as the window moves does not update the alert weekly.
"""
from __future__ import annotations

from engine.alerts.inputs import RUNNING, AlertInputs
from engine.alerts.model import Alert, Severity
from engine.alerts.settings import AlertThresholds
from engine.domain.capacity import (CapacityRow, CohortLoad, FacilitatorSupply, WaitingDemand,
                                      capacity_vs_demand, totals)

KIND = "capacity.shortfall"
SCOPE = "region"


def forecast(inputs: AlertInputs, weeks: int) -> list[CapacityRow]:
    """Weekly demand and capacity rows per programme and PDU, from the alert inputs."""
    waiting = [WaitingDemand(r.programme_code, r.pdu_code, r.latest_start) for r in inputs.referrals
               if r.status == "AWAITING_ALLOCATION" and not r.cohort_id and r.programme_code in inputs.programme_loads]
    cohorts = [CohortLoad(c.cohort_id, c.programme_code, c.pdu_code, c.start_date, c.end_date, c.weekly_hours,
                          c.facilitators_required, c.status in RUNNING,
                          group_weeks=c.group_weeks,
                          load_start=c.group_start, facilitator_ids=c.facilitator_ids) for c in inputs.cohorts]
    supply = [FacilitatorSupply(f.facilitator_id, f.home_pdu, f.programmes, f.weekly_hours, f.absences, f.left_on)
              for f in inputs.facilitators]
    return capacity_vs_demand(waiting, cohorts, supply, inputs.programme_loads, inputs.today, weeks)


def evaluate(inputs: AlertInputs, thresholds: AlertThresholds) -> list[Alert]:
    out = []
    weeks = thresholds.capacity_weeks
    rows = forecast(inputs, weeks)
    worst_pdu = {}
    for t in totals(rows, ("programme_code", "pdu_code"), weeks):
        if t.gap_hours < worst_pdu.get(t.key[0], (0.0, ""))[0]:
            worst_pdu[t.key[0]] = (t.gap_hours, t.key[1])
    for total in totals(rows, ("programme_code",), weeks):
        (programme,) = total.key
        demand, capacity = total.demand_hours, total.capacity_hours
        if demand <= 0 or demand <= capacity * (1 + thresholds.capacity_shortfall_pct / 100):
            continue
        severe = capacity <= 0 or demand > 1.5 * capacity
        gap, pdu = worst_pdu.get(programme, (0.0, None))
        out.append(Alert(
            KIND, Severity.CRITICAL if severe else Severity.WARNING, "programme", programme, inputs.region_code,
            f"{programme}: {demand:,.0f} facilitator hours needed over the next {weeks} weeks "
            f"({total.waiting_hours:,.0f} for the waiting list, {total.committed_hours:,.0f} for running groups) "
            f"against {capacity:,.0f} available, {demand - capacity:,.0f} short from the week of "
            f"{total.first_short_week}" + (f"; largest gap in {pdu} ({-gap:,.0f} h)" if pdu else ""),
            act_by=total.first_short_week or inputs.today, pdu_code=pdu, key=programme,
            numbers={"demand_hours": _round(demand), "capacity_hours": _round(capacity), "weeks": weeks}))
    return out


def _round(hours: float, step: int = 50) -> int:
    return int(round(hours / step) * step)


def cleared(row: dict, inputs: AlertInputs) -> str:
    return "demand within capacity over the forecast window"
