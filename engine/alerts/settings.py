"""Alert thresholds (``COHORTPLAN_ALERT_*``): what ops staff tune without touching the rules."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Days a referral may sit in a status before someone should look at it. Waiting for a place is not
# here: the deadline rules watch the waiting list with dates that matter more than a count of days.
DEFAULT_STUCK_DAYS = {
    "AWAITING_ASSESSMENT": 42,  # six weeks to assess suitability
    "SUITABLE_NOT_READY": 182,
    "DEFERRED": 182,
    "RETURN_TO_COURT": 56,
    "BREACH": 84,
    "DEPRIORITISED": 182,
}


class AlertThresholds(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COHORTPLAN_ALERT_", frozen=True, extra="ignore")

    at_risk_weeks: int = Field(8, ge=1, le=52, description="deadline at risk: latest start within this many weeks, no place")
    below_minimum_days: int = Field(21, ge=1, le=120, description="cohort below minimum size this many days before start")
    facilitator_days: int = Field(28, ge=1, le=120, description="cohort short of trained facilitators this many days before start")
    urgent_days: int = Field(7, ge=0, le=60, description="cohort alerts this close to the start are CRITICAL")
    overbooked_weeks: int = Field(12, ge=1, le=52, description="facilitator hours and slot clashes looked at this far ahead")
    capacity_weeks: int = Field(12, ge=1, le=52, description="capacity shortfall forecast window")
    capacity_shortfall_pct: float = Field(10.0, ge=0, le=100, description="raise when demand exceeds capacity by more than this %")
    stuck_days: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_STUCK_DAYS),
                                       description="days in a referral status before it counts as stuck (JSON)")
    breach_window_days: int = Field(365, ge=1, le=730, description="second unacceptable absence within this of a warning")
    breach_act_days: int = Field(14, ge=1, le=60, description="breach guidance: act within this many days of the absence")
    dead_letters_per_hour: int = Field(10, ge=0, description="raise when more events than this were rejected in the last hour")
