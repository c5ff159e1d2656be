"""What a caller sends to queue a re-plan, a what-if or an FTE sweep, and the job it gets back; what a dead-letter
redrive answers. The what-if fields are the ``cohortplan whatif`` options (engine/whatif_cli.py), bounded."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from api.models import CODE_PATTERN, AsOf, CodeIn, Id, ProgrammeCode, Strict, Text

Count = Annotated[int, Field(ge=1, le=50)]
PerCode = Annotated[dict[CodeIn, Count], Field(max_length=20), WithJsonSchema(  # keys say their shape too
    {"type": "object", "maxProperties": 20, "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": CODE_PATTERN},
     "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 50}})]
JobKind = Literal["REPLAN", "WHATIF", "FTE_SWEEP"]
JobStatus = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]


class ReplanBody(Strict):
    as_of: AsOf | None = Field(None, description="plan as of this date (default: the region's event clock; never "
                                                 "before the date it was last planned as of)")
    time_limit_s: float | None = Field(None, gt=0, le=600, description="CP-SAT seconds (default: the engine's)")


class WhatIfBody(Strict):
    as_of: AsOf | None = Field(None, description="default: the date the region was last planned as of")
    allocator: Literal["cpsat", "current-practice", "fifo"] = "cpsat"
    time_limit_s: float = Field(5.0, ge=0.1, le=120, description="CP-SAT seconds per solve")
    add_facilitators: PerCode = Field(default_factory=dict, description="PDU → facilitators added")
    remove_facilitators: PerCode = Field(default_factory=dict,
                                         description="PDU → facilitators removed (those with fewest committed hours)")
    programmes: Annotated[list[ProgrammeCode], Field(max_length=20)] | None = Field(
        None, description="added facilitators are trained on these (default: what the PDU's team delivers)")
    new_facilitator_slots: Literal["any", "team"] = "any"
    evening_track: bool = False
    open_venues: PerCode = Field(default_factory=dict, description="office → group rooms given to it")
    demand_factor: float = Field(1.0, ge=0.1, le=5.0, description="waiting demand scaled: 1.2 is 20% more")


class SweepBody(WhatIfBody):
    target_miss_pct: float = Field(ge=0, le=100, description="misses must fall under this percentage")
    pdus: Annotated[list[CodeIn], Field(max_length=20)] = Field(
        default_factory=list, description="add staff in these PDUs (default: region-wide, in proportion to demand)")
    max_fte: int = Field(10, ge=1, le=30, description="most FTE to try")


class Job(Strict):
    job_id: Annotated[str, Field(max_length=36)]
    region: Annotated[str, Field(max_length=40)]
    kind: JobKind
    status: JobStatus
    request: dict[str, Any] = Field(description="what was asked (the body as validated)")
    submitted_by: Id
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None = Field(description="SUCCEEDED: the summary (a re-plan's published plan, a "
                                                      "what-if's comparison, a sweep's steps and answer)")
    error: Text | None = Field(description="FAILED: why")


class RedriveFilter(Strict):
    origin: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="only letters from this file or topic")
    reason_contains: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="only letters whose reason contains this text")
    limit: int = Field(500, ge=1, le=500, description="at most this many, oldest first")


class RedriveItem(Strict):
    id: int
    outcome: Literal["applied", "parked", "stale", "already_applied", "still_invalid"]
    reason: Text | None = Field(description="still invalid: the new reason")


class Redrive(Strict):
    matched: int = Field(ge=0, description="dead letters the selection matched")
    redriven: int = Field(ge=0, description="of which redriven now (at most the limit)")
    applied: int = Field(ge=0, description="accepted by the intake and gone from the dead letters (applied, parked "
                                           "for what they wait for, stale, or applied before)")
    still_invalid: int = Field(ge=0, description="kept, each with its new reason")
    items: list[RedriveItem]
