"""The subject-access document (GET /people/{crn}/subject-access): everything held on one crn."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from api.models import Crn, Strict

Rows = list[dict[str, Any]]


class InboundEvents(Strict):
    processed: Rows = Field(description="events applied, ignored as stale or rejected, each with its text")
    parked: Rows = Field(description="events waiting for something not seen yet")
    dead_letters: Rows = Field(description="messages that named the person and could not be applied")


class AlertRecords(Strict):
    open: Rows = Field(description="open alerts about the person, with their workflow state")
    actions: Rows = Field(description="what people did to alerts about the person (every occurrence)")


class SubjectAccess(Strict):
    """Every row the engine holds on the crn (and the crns merged into it), as stored."""

    crn: Crn
    merged_crns: list[Crn]
    person: dict[str, Any] | None
    limited_access: dict[str, Any] | None = Field(description="the case's restrictions and exclusions")
    sentences: Rows
    requirements: Rows
    referrals: Rows = Field(description="each with its deadline, status history and attendance")
    allocations: Rows = Field(description="current places")
    events: InboundEvents
    outbound: Rows = Field(description="messages sent about the person: allocations, alerts, alert actions")
    alerts: AlertRecords
    overrides: Rows | None = Field(description="planner overrides naming the person (null: none kept here)")
    reads: Rows = Field(description="every audited API read that showed the person's data, oldest first")
