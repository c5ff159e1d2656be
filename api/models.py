"""Response and query models: strict (unknown query parameters are refused) and bounded.

Ids and codes are bounded strings; people appear by crn and ids only (the data holds no names).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from engine.alerts.model import Severity
from engine.alerts.states import WorkflowState
from engine.alerts.workflow import MAX_SNOOZE_DAYS
from engine.events.envelope import ID_MAX, NO_CONTROL, TEXT_MAX
from engine.alerts.rules import KINDS
from engine.domain.programmes import load_catalogue
from engine.domain.statuses import ReferralStatus
from engine.reports.data import UNPLACED_OPEN

T = TypeVar("T")

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
CODE_PATTERN = r"^[A-Za-z0-9*][A-Za-z0-9._-]*$"
# What the API answers with: bounded by the columns they come from (the data, not the caller, wrote them).
Id = Annotated[str, Field(max_length=64)]
Code = Annotated[str, Field(max_length=40)]
Crn = Annotated[str, Field(max_length=16)]
Text = Annotated[str, Field(max_length=4000)]
# What a caller sends: bounded and of a known shape.
CodeIn = Annotated[str, Field(min_length=1, max_length=40, pattern=CODE_PATTERN)]

RegionPath = Annotated[str, Path(max_length=40, pattern=CODE_PATTERN, description="region code, e.g. RS")]
IdPath = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
TablePath = Annotated[str, Path(max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$", description="table name")]
AlertIdPath = Annotated[str, Path(max_length=200, pattern=r"^[a-z][a-z_.]*:[a-z_]+:[A-Za-z0-9._:*-]+$",
                                   description="kind:subject_type:subject_id, e.g. deadline.at_risk:referral:REF1")]
CrnPath = Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9]+$", description="case reference number")]

# Known codes, so that the document itself says which values exist (and a request naming another is a 422
# listing them): the shipped programme catalogue, the alert rules' kinds, the open statuses without a place.
ProgrammeCode = Literal[tuple(sorted(load_catalogue().codes))]  # type: ignore[valid-type]
AlertKind = Literal[tuple(sorted(KINDS))]  # type: ignore[valid-type]
UnplacedStatus = Literal[tuple(sorted(UNPLACED_OPEN))]  # type: ignore[valid-type]
# A date this century: JSON Schema has no bounds for dates, so the document says it with a pattern.
AsOf = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2099, 12, 31)), WithJsonSchema(
    {"type": "string", "format": "date", "pattern": r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paging(Strict):
    """``limit`` items from ``offset`` of the ordered list."""

    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class Page(Strict, Generic[T]):
    items: list[T]
    total: int = Field(ge=0, description="items in the whole list (all pages)")
    limit: int = Field(ge=1, le=500)
    offset: int = Field(ge=0)


# health --------------------------------------------------------------------------------------------
class Health(Strict):
    status: Literal["ok"]


class Ready(Strict):
    status: Literal["ready"]
    database: Literal["reachable"]


# waiting list --------------------------------------------------------------------------------------
class WaitingListQuery(Paging):
    """Filters of the waiting list; ``as_of`` defaults to the date the region was last planned as of."""

    programme: ProgrammeCode | None = None
    pdu: CodeIn | None = None
    sex: Literal["MALE", "FEMALE"] | None = None
    ldc: bool | None = None
    status: UnplacedStatus = Field("AWAITING_ALLOCATION", description="open and without a place")
    at_risk: bool | None = Field(None, description="only those at risk (true) or not at risk (false)")
    as_of: AsOf | None = Field(None, description="count slack and risk from this date")


class WaitingEntry(Strict):
    referral_id: Id
    crn: Crn
    programme_code: Code
    pdu_code: Code
    sex: Literal["MALE", "FEMALE", ""]
    ldc: bool
    status: Code
    referred_on: date
    deadline: date | None
    latest_start: date | None = Field(description="the latest start still ahead that finishes in time")
    slack_days: int | None = Field(description="days from as of to the latest start; none when none is left")
    at_risk: bool
    cannot_finish: bool = Field(description="the order has not ended but no start left finishes in time")
    past_deadline: bool


# limited-access cases ----------------------------------------------------------------------------
RESTRICTED_NOTE = ("a limited-access case the caller may not see (restricted to other users, or the caller is "
                   "excluded): identifiers only, as the case system's lists show them")


class RestrictedReferral(Strict):
    __doc__ = f"A referral of {RESTRICTED_NOTE}."
    restricted: Literal[True] = True
    detail: Literal["Restricted"] = "Restricted"
    referral_id: Id
    crn: Crn


class RestrictedPerson(Strict):
    __doc__ = f"A person who is {RESTRICTED_NOTE}."
    restricted: Literal[True] = True
    detail: Literal["Restricted"] = "Restricted"
    crn: Crn


class RestrictedAlert(Strict):
    __doc__ = f"An alert about {RESTRICTED_NOTE}."
    restricted: Literal[True] = True
    detail: Literal["Restricted"] = "Restricted"
    alert_id: Annotated[str, Field(max_length=200)]
    region: Code


class WaitingList(Page[WaitingEntry | RestrictedReferral]):
    region: Code
    as_of: date
    at_risk_weeks: int = Field(ge=1, le=52)


# referrals -----------------------------------------------------------------------------------------
class StatusChange(Strict):
    at: datetime
    from_status: Code | None
    to_status: Code
    reason: Text


class Place(Strict):
    cohort_id: Id
    plan_version: int
    allocated_on: date
    reason: Text
    source: Code
    pinned: bool
    cohort_start: date | None
    cohort_end: date | None
    office_code: Code | None


class Explanation(Strict):
    reason: Text = Field(description="the published plan's reason for this referral's place, or why it has none")
    notes: list[Text] = Field(description="what the safety rules and the delivery team's records say now")


class ReferralSummary(Strict):
    referral_id: Id
    crn: Crn
    programme_code: Code
    status: ReferralStatus
    referred_on: date
    deadline: date | None
    cohort_id: Id | None


class Referral(ReferralSummary):
    region: Code
    pathway: Code
    risk_band: Code
    ready_from: date | None
    latest_start: date | None = Field(description="the latest start on the fastest usual pattern that finishes "
                                                  "in time (the deadline alerts' date)")
    latest_starts: dict[Annotated[str, Field(max_length=100)], date | None] = Field(
        description="per usual weekly pattern, the latest start that finishes in time")
    history: list[StatusChange]
    place: Place | None
    explanation: Explanation


class PersonReferrals(Strict):
    crn: Crn
    region: Code
    pdu_code: Code
    merged_into: Crn | None
    referrals: list[ReferralSummary]


# plans and cohorts ---------------------------------------------------------------------------------
class Slot(Strict):
    weekday: int = Field(ge=0, le=6, description="0 Monday … 6 Sunday")
    start: Annotated[str, Field(max_length=5, pattern=r"^\d{2}:\d{2}$")]
    period: Literal["DAYTIME", "EVENING"]


class Session(Strict):
    number: int = Field(ge=1)
    on: date
    kind: Code
    minutes: int = Field(ge=0)


class Venue(Strict):
    office_code: Code
    pdu_code: Code


class Cohort(Strict):
    cohort_id: Id
    programme_code: Code
    status: Code
    origin: Code
    venue: Venue
    sex: Literal["MALE", "FEMALE", "MIXED"]
    pathway: Code
    offence_cohort: Code
    ldc: bool
    start_date: date
    end_date: date
    min_size: int
    max_size: int
    slots: list[Slot]
    sessions: list[Session]
    facilitator_ids: list[Id]
    member_ids: list[Id] = Field(description="referral ids holding a place")


class Plan(Strict):
    region: Code
    plan_version: int
    as_of: date
    allocator: Code
    status: Code
    assigned: int
    unallocated: int
    cohorts_opened: int
    objective: dict[Annotated[str, Field(max_length=100)], float]
    best_bound: float | None
    gap: float | None
    note: Text | None
    cohorts: list[Cohort] = Field(description="the region's proposed, confirmed and running cohorts")


# alerts and dead letters ---------------------------------------------------------------------------
class AlertQuery(Paging):
    kind: list[AlertKind] = Field(default_factory=list, max_length=20)
    severity: Severity = Field(Severity.INFO, description="lowest severity shown")
    pdu: CodeIn | None = None
    state: list[WorkflowState] = Field(default_factory=list, max_length=5,
                                       description="workflow states shown (repeatable; all when absent)")


class Alert(Strict):
    alert_id: Annotated[str, Field(max_length=200)]
    kind: Annotated[str, Field(max_length=60)]
    severity: Severity
    subject_type: Annotated[str, Field(max_length=20)]
    subject_id: Id
    region: Code
    pdu_code: Code | None
    raised_at: datetime
    updated_at: datetime | None
    act_by: date | None
    reason: Text
    numbers: dict[Annotated[str, Field(max_length=100)], int | float | str | None]
    workflow_state: WorkflowState = Field(description="what people did about it (OPEN until someone acts)")
    assigned_to: Id | None = None
    snoozed_until: date | None = None


class AlertAction(Strict):
    """One thing a person did to the alert (any occurrence of its id), oldest first."""

    action: Literal["acknowledge", "assign", "snooze", "resolve"]
    actor: Id
    at: datetime
    note: Text | None = None
    assigned_to: Id | None = None
    snoozed_until: date | None = None
    event_id: Annotated[str, Field(max_length=36)]


class AlertDetail(Alert):
    history: list[AlertAction]


# What ops staff send to act on an alert (the engine checks the same rules: engine/alerts/workflow.py).
Note = Annotated[str, Field(min_length=1, max_length=TEXT_MAX, pattern=NO_CONTROL,
                            description="free text, no control characters")]
UserId = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=r"^[A-Za-z0-9._:-]+$",
                              description="a user id, like every other id")]


class AcknowledgeBody(Strict):
    note: Note


class AssignBody(Strict):
    user_id: UserId


class SnoozeBody(Strict):
    until: AsOf = Field(description=f"the day the snooze ends: after the region's date, at most "
                                    f"{MAX_SNOOZE_DAYS} days after it")
    note: Note | None = None


class ResolveBody(Strict):
    note: Note


class DeadLetter(Strict):
    id: int
    received_at: datetime
    origin: Annotated[str, Field(max_length=200)]
    line_number: int | None
    partition: int | None
    offset: int | None
    event_id: Annotated[str, Field(max_length=36)] | None
    reason: Text


# reports -------------------------------------------------------------------------------------------
class ReportTable(Strict):
    name: Annotated[str, Field(max_length=60)]
    csv_url: Annotated[str, Field(max_length=300)]


class Report(Strict):
    """A weekly planner report: its headline numbers and where its HTML and CSV tables are."""

    report_id: Annotated[str, Field(max_length=200)]
    as_of: date
    period_start: date
    previous_as_of: date | None
    headline: dict[Annotated[str, Field(max_length=100)], int | float | None]
    html_url: Annotated[str, Field(max_length=300)]
    tables: list[ReportTable]


# planner overrides ---------------------------------------------------------------------------------
OverrideKind = Literal["keep", "never", "hold", "lock"]
IdIn = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=r"^[A-Za-z0-9._:-]+$")]


class OverrideBody(Strict):
    """keep (referral_id, cohort_id): this referral on this cohort; never (referral_id, cohort_id): not on it;
    hold (referral_id, until): out of planning until that day; lock (cohort_id): nobody joins or leaves it."""

    kind: OverrideKind
    referral_id: IdIn | None = None
    cohort_id: IdIn | None = None
    until: AsOf | None = Field(None, description="hold: planned again from this day (after the region's date)")
    reason: Note = Field(description="why, for whoever reads the plan: free text, at most 500 characters")


class Override(Strict):
    override_id: Id
    region_code: Code
    kind: OverrideKind
    referral_id: Id | None
    cohort_id: Id | None
    until: date | None
    reason: Text
    created_by: Id
    created_at: datetime
    event_id: Annotated[str, Field(max_length=36)] = Field(description="the override.added message id")
    active: bool = Field(description="false for a hold whose day has come (it binds plans no more)")
    set_aside: list[Text] = Field(description="why the last plan could not honour it safely (empty: honoured)")
