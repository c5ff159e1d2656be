"""Typed settings, read once at the entry points from ``COHORTPLAN_*`` environment variables."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COHORTPLAN_", frozen=True, extra="ignore")

    database_url: str = Field("sqlite:///out/cohortplan.db",
                              description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://… in production")
    region_profile: str = "default"
    deadline_margin_days: int = Field(14, ge=0, le=120)
    freeze_days: int = Field(14, ge=0, le=90)
    horizon_weeks: int = Field(52, ge=4, le=156)
    allocator: str = "cpsat"
    solver_time_limit_s: float | None = Field(None, gt=0, le=3600,
                                              description="CP-SAT seconds per region plan; unset: sized to the "
                                                          "region's model (solver.model.sized_time_limit)")
    solver_workers: int = Field(2, ge=1, le=64, description="CP-SAT search workers")
    solver_seed: int = 7
    solver_in_process: bool = Field(False, description="solve on the calling thread (tests, benchmarks)")
    solver_niceness: int = Field(10, ge=0, le=19, description="the CP-SAT process runs this much below the service's "
                                 "CPU priority (Unix niceness added): a plan takes the CPU requests and ingest leave")
    replan_time_limit_s: float = Field(1.5, gt=0, le=600, description="CP-SAT seconds for an incremental re-plan")
    move_threshold_weeks: int = Field(8, ge=0, le=52, description="a published place moves only for a wait this much shorter")
    max_moves_per_person: int = Field(0, ge=0, le=52, description="moved this often by plans, a person keeps the "
                                                                  "running place they hold (0: no cap)")
    stability_first: bool = Field(True, description="every plan ranks changes to published places right after "
                                                    "deadline misses, above waits, as incremental and large plans "
                                                    "do: a published place moves only to save a deadline (off: "
                                                    "waits rank above changes, 2.1-2.4 times the changes over five "
                                                    "seeds; BENCHMARKS.md)")
    equity_weight: int = Field(0, ge=0, le=100, description="tier-1 cost of each person a group misses beyond "
                                                             "the plan's rate plus equity_gap_points (0: off)")
    equity_gap_points: float = Field(5.0, ge=0, le=100, description="how many points more often than the plan a "
                                                                     "group may miss before the equity goal costs")
    equity_dimensions: tuple[str, ...] = Field(("sex", "ldc", "ethnicity", "pdu"),
                                              description="the groupings the equity goal compares")
    lookahead_weeks: int = Field(0, ge=0, le=104, description="look-ahead for rare variants: a group too few wait for "
                                                              "may open when those waiting plus the arrivals forecast "
                                                              "from the referrals of this many recent weeks reach its "
                                                              "minimum by its start (0: off)")
    equity_trailing_weight: int = Field(0, ge=0, le=100, description="added to the deadline-miss weight (and one "
                                        "plus it multiplying the wait cost) of each person of a group (sex, LDC) "
                                        "whose realised in-time share over the last 52 weeks trails the region's by "
                                        "more than equity_trailing_points (0: off)")
    equity_trailing_points: float = Field(5.0, ge=0, le=100, description="how far a group's realised in-time "
                                                                          "share may trail the region's before it "
                                                                          "is weighted")
    forecast_open_cost: int = Field(0, ge=0, le=100, description="tier-1 cost (weighted misses) of opening a group "
                                                                 "offered on the look-ahead's forecast (0: none)")
    forecast_move_cost: int = Field(0, ge=0, le=100, description="tier-1 cost (weighted misses) of each person moved "
                                                                 "off a place they hold into a group offered on the "
                                                                 "forecast (0: none)")
    extra_open_cost: int = Field(2, ge=0, le=100, description="tier-1 cost (weighted misses) of opening a group the "
                                                              "grid offers beyond its budget (grid_rare_every_step)"
                                                              " (0: none)")
    extra_move_cost: int = Field(0, ge=0, le=100, description="tier-1 cost (weighted misses) of each person moved off "
                                                              "a place they hold into a group the grid offers beyond "
                                                              "its budget (0: none)")
    grid_step_weeks: int = Field(4, ge=1, le=26, description="weeks between candidate starts per venue and track")
    grid_staffed: bool = Field(False, description="offer a candidate track only where two facilitators trained for "
                                                  "the programme work at the venue and can attend it (off: "
                                                  "measured worse on one seed of three, BENCHMARKS.md)")
    grid_stagger: bool = Field(False, description="start a rare variant's candidate tracks on staggered weeks "
                                                  "across the horizon instead of all in the same weeks (off: "
                                                  "+5, +8 and -15 starts on three seeds at 6 s per plan, fewer "
                                                  "and many more changes at the default budget, BENCHMARKS.md)")
    grid_evenings_per_week: int = Field(2, ge=1, le=2, description="evening candidate groups meet this often a "
                                        "week where the programme allows it (2: people who can only come in "
                                        "the evening finish in about half the weeks)")
    grid_rare_at_hard_minimum: bool = Field(True, description="a variant too few wait for to make the "
                                            "programme's minimum at any track is offered groups that open at its "
                                            "hard minimum (a women's or LDC group, say)")
    grid_rare_every_step: bool = Field(True, description="a variant too few wait for to fill the grid's usual "
                                       "starts is also offered its best track per period at every later step "
                                       "across the horizon, not only every track in the first week; planned "
                                       "after the plan without them, opening one costs extra_open_cost (with both "
                                       "and stability_first: more people and more women start in time over five "
                                       "seeds; BENCHMARKS.md)")
    batch_size: int = Field(2000, ge=1, le=100_000)
    park_timeout_hours: int = Field(168, ge=1, le=87_600,
                                    description="hours of event time (the ingest's clock) a parked event waits for "
                                                "what it refers to before it becomes a dead letter")
    clock_skew_minutes: int = Field(10, ge=0, le=1440, description="on the wall clock: how far past now an event may be "
                                                                    "dated before it is refused")
    clock_max_jump_days: int = Field(92, ge=1, le=3650, description="on the event clock: how far past the latest "
                                                                    "accepted event an event may be dated")
    output_dir: Path = Path("out")

    @field_validator("equity_dimensions")
    @classmethod
    def _known_dimensions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from solver.objectives.equity import DIMENSIONS
        unknown = sorted(set(value) - set(DIMENSIONS))
        if unknown:
            raise ValueError(f"unknown equity dimension(s) {', '.join(unknown)}; known: {', '.join(DIMENSIONS)}")
        return value
