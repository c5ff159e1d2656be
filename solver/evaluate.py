"""Allocator-independent measures of a plan, so FIFO, current practice and CP-SAT are judged alike."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from statistics import median, quantiles

from solver.rules import deferrable, last_ends
from solver.schema import CohortState, Plan, Problem


def percentile(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[pct - 1]


def plan_metrics(problem: Problem, plan: Plan, previous: Plan | None = None) -> dict[str, float]:
    """Misses, waits, cohorts, fill, facilitator hours and churn of ``plan`` on ``problem``.

    A miss is a person whose latest end falls within the plan's reach (horizon plus the longest cohort
    of their programme group) and who has no place: they cannot finish in time unless a plan places them.
    Waits run from referral to the start of the cohort; people without a place wait at least to the
    horizon's end and are counted that way in the percentiles.
    """
    params, cohorts = problem.params, {c.cohort_id: c for c in problem.cohorts}
    placed = {a.referral_id: cohorts[a.cohort_id] for a in plan.assignments}
    horizon_end = problem.as_of + timedelta(weeks=params.horizon_weeks)
    ends = last_ends(problem.cohorts)
    waits, misses, deferred = [], 0, 0
    for d in problem.demands:
        cohort = placed.get(d.referral_id)
        start = cohort.start_date if cohort else horizon_end
        waits.append(max(0.0, (start - d.referred_on).days / 7))
        if cohort is None:
            if deferrable(d, ends, params):
                deferred += 1
            else:
                misses += 1
    opened = {o.cohort_id: o for o in plan.opened}
    taken = Counter(a.cohort_id for a in plan.assignments)
    fills = [(len(cohorts[cid].members) + taken[cid]) / cohorts[cid].max_size for cid in opened if cid in cohorts]
    hours = sum(cohorts[cid].facilitator_weekly_hours * len(cohorts[cid].load_weeks) * len(o.facilitator_ids)
                for cid, o in opened.items())
    demands = len(problem.demands)
    metrics = {
        "demands": float(demands), "assigned": float(len(plan.assignments)),
        "deadline_misses": float(misses), "deferred": float(deferred),
        "in_time_share": round(1 - misses / demands, 4) if demands else 1.0,
        "median_wait_weeks": round(median(waits), 2) if waits else 0.0,
        "p92_wait_weeks": round(percentile(waits, 92), 2),
        "within_target_share": round(sum(w <= params.wait_target_weeks for w in waits) / demands, 4) if demands else 1.0,
        "cohorts_opened": float(len(opened)),
        "mean_fill": round(sum(fills) / len(fills), 3) if fills else 0.0,
        "facilitator_hours": round(hours, 1),
        "open_places_used": float(sum(1 for c in placed.values() if c.state == CohortState.OPEN)),
    }
    if previous is not None:
        now = {a.referral_id: a.cohort_id for a in plan.assignments}
        metrics["churn"] = float(sum(1 for a in previous.assignments if now.get(a.referral_id) != a.cohort_id))
    return metrics
