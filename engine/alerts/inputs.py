"""The plain-data view of a region's state that alert rules read (no entities, no database)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Mapping

from engine.domain.capacity import ProgrammeLoad

# Statuses of people not yet started and still expected to start (enforcement and recall pause the clock).
NOT_STARTED = frozenset({"AWAITING_ASSESSMENT", "AWAITING_ALLOCATION", "SUITABLE_NOT_READY"})
HOLDING_PLACE = frozenset({"SCHEDULED", "ON_PROGRAMME"})
UPCOMING = frozenset({"PROPOSED", "CONFIRMED"})
RUNNING = frozenset({"CONFIRMED", "STARTED"})


@dataclass(frozen=True)
class ReferralView:
    referral_id: str
    crn: str
    programme_code: str
    status: str
    status_since: date
    pdu_code: str
    referred_on: date
    deadline: date | None  # the date the programme must be completed by (order or requirement end)
    latest_start: date | None  # the last start on a usual pattern that finishes in time (None: none does)
    latest_end: date | None = None  # deadline less the safety margin for catch-up sessions
    cohort_id: str | None = None
    pinned: bool = False
    risk_band: str = "MEDIUM"


@dataclass(frozen=True)
class CohortView:
    cohort_id: str
    programme_code: str
    pdu_code: str
    office_code: str
    status: str
    origin: str
    start_date: date
    end_date: date
    group_start: date
    min_size: int
    max_size: int
    members: int
    facilitator_ids: tuple[str, ...]
    facilitators_required: int
    weekly_hours: float  # per facilitator while the group runs (delivery + preparation)
    slots: tuple[tuple[int, str, str], ...]  # (weekday, start "HH:MM", period)
    session_minutes: int = 150
    group_weeks: int | None = None  # weeks with group sessions from group_start (one-to-one sessions may follow)

    @property
    def load_end(self) -> date:
        """The last day facilitators carry the group's load: the Sunday of its last group week, as the
        solver counts load weeks (``CohortOption.load_weeks``); the end date when the weeks are unknown."""
        if self.group_weeks is None:
            return self.end_date
        monday = self.group_start - timedelta(days=self.group_start.weekday())
        return min(self.end_date, monday + timedelta(weeks=max(1, self.group_weeks), days=-1))


@dataclass(frozen=True)
class FacilitatorView:
    facilitator_id: str
    home_pdu: str
    programmes: frozenset[str]
    weekly_hours: float
    absences: tuple[tuple[date, date], ...] = ()
    left_on: date | None = None

    def in_post(self, on: date) -> bool:
        return self.left_on is None or self.left_on > on

    def absent(self, start: date, end: date) -> bool:
        return any(a <= end and start <= b for a, b in self.absences)


@dataclass(frozen=True)
class AbsenceView:
    """An attendance outcome that matters for enforcement (unacceptable absences)."""

    referral_id: str
    cohort_id: str
    session_date: date
    outcome: str


@dataclass(frozen=True)
class AlertInputs:
    region_code: str
    today: date
    now: datetime  # wall clock, for counts over the last hour
    referrals: tuple[ReferralView, ...] = ()
    cohorts: tuple[CohortView, ...] = ()
    facilitators: tuple[FacilitatorView, ...] = ()
    absences: tuple[AbsenceView, ...] = ()
    dead_letters: tuple[tuple[datetime, str], ...] = ()  # (received_at, origin), already windowed
    margin_days: int = 14  # deadline less this is the latest a programme should end
    programme_loads: Mapping[str, ProgrammeLoad] = field(default_factory=dict)  # one group's facilitator load
    # Cohorts an open alert is about that have left ``cohorts`` (cancelled, completed, or past): only for
    # saying why such an alert cleared; no rule raises on them.
    former_cohorts: tuple[CohortView, ...] = ()

    # Held places that break a rule now (engine.services.safety findings as dicts: referral_id, crn,
    # cohort_id, rule, detail, remedy), places removed for a broken rule since the last plan, and the
    # last plan refused by the invariant gate (None: the last plan passed).
    place_breaches: tuple[Mapping, ...] = ()
    removed_places: Mapping[str, Mapping] = field(default_factory=dict)
    plan_rejection: Mapping | None = None
    # The region's last published plan fell back to current practice (plan_version, as_of, allocator, note,
    # seconds); None when it did not.
    plan_fallback: Mapping | None = None
    # Members of delivery-team confirmations cohortplan could not place (cohort_id, referral_id, crn,
    # rule, detail), still news: not since placed there, referral open, cohort open.
    refused_members: tuple[Mapping, ...] = ()
    # Planner overrides the last plan set aside as unsafe: override id → why (engine/services/overrides.py).
    overrides_set_aside: Mapping[str, list[str]] = field(default_factory=dict)

    def referral(self, referral_id: str) -> ReferralView | None:
        return _index(self, "referrals", "referral_id").get(referral_id)

    def cohort(self, cohort_id: str) -> CohortView | None:
        return _index(self, "cohorts", "cohort_id").get(cohort_id)

    def facilitator(self, facilitator_id: str) -> FacilitatorView | None:
        return _index(self, "facilitators", "facilitator_id").get(facilitator_id)


def _index(inputs: AlertInputs, name: str, key: str) -> dict:
    cache = inputs.__dict__.setdefault("_indexes", {})
    if name not in cache:
        cache[name] = {getattr(x, key): x for x in getattr(inputs, name)}
    return cache[name]
