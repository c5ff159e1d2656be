"""Registry of the soft goals, each in its own module with its own test; tier 1 matters most."""
from __future__ import annotations

from solver.objectives.cohorts_opened import cohorts_opened
from solver.objectives.deadline_misses import deadline_misses
from solver.objectives.equity import equity
from solver.objectives.extra_groups import extra_groups
from solver.objectives.facilitator_hours import facilitator_hours
from solver.objectives.forecast import forecast
from solver.objectives.plan_changes import plan_changes
from solver.objectives.travel import travel
from solver.objectives.underfill import underfill
from solver.objectives.waits import waits

OBJECTIVES = {
    "deadline_misses": deadline_misses,
    "equity": equity,
    "forecast": forecast,
    "extra_groups": extra_groups,
    "waits": waits,
    "plan_changes": plan_changes,
    "cohorts_opened": cohorts_opened,
    "facilitator_hours": facilitator_hours,
    "underfill": underfill,
    "travel": travel,
}
