"""One module per alert kind. Each exposes ``KIND``, ``SCOPE`` ("region" or "global") and
``evaluate(inputs, thresholds) -> list[Alert]`` — a pure function of the state view and its date —
and may expose ``cleared(row, inputs) -> str``, the reason given when its condition ends.
"""
from __future__ import annotations

from types import ModuleType

from engine.alerts.rules import (
                                 allocation_finishes_late,
                                 breach_guidance,
                                 capacity_shortfall,
                                 cohort_below_minimum,
                                 confirmation_member_refused,
                                 cohort_facilitators_short,
                                 dead_letters,
                                 deadline_at_risk,
                                 deadline_missed,
                                 events_conflicting,
                                 facilitator_overbooked,
                                 place_breaks_rule,
                                 plan_fell_back,
                                 plan_rejected,
                                 referral_stuck,
)
from engine.alerts.rules import override_set_aside

RULES: tuple[ModuleType, ...] = (
    deadline_at_risk, deadline_missed, allocation_finishes_late, cohort_below_minimum,
    cohort_facilitators_short, facilitator_overbooked, capacity_shortfall, referral_stuck, breach_guidance,
    dead_letters, events_conflicting, place_breaks_rule, plan_rejected, plan_fell_back, confirmation_member_refused,
    override_set_aside,
)
KINDS: dict[str, ModuleType] = {rule.KIND: rule for rule in RULES}
