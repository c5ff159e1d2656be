"""What a handler gets: the unit of work, the event being applied, and the engine's shared rules.

Handlers validate before they mutate, so a rejected event (a :class:`DomainError`) leaves no
partial change behind; the ingest service turns the error into a dead letter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from engine.domain import policies
from engine.domain.calendar import schedule_sessions, weeks_spanned
from engine.domain.model import Cohort, Referral, Requirement
from engine.domain.rules import EngineRules
from engine.domain.statuses import ALLOCATION_ONLY, InvalidTransition, ReferralStatus, may_become_valid, path_to
from engine.events.envelope import Envelope
from engine.events.outbound import AllocationRemoved
from engine.outbox import emit, stable_id
from engine.ports import ParkedEvent, UnitOfWork


class Parked(Exception):
    """The event refers to something not seen yet; it waits under ``waiting_for``."""

    def __init__(self, waiting_for: str) -> None:
        super().__init__(waiting_for)
        self.waiting_for = waiting_for


STATUS_WAIT, MEMBER_WAIT = "status:", "member:"  # prefixes of the waits below (engine/services/parking.py explains them)


def status_wait(referral_id: str) -> str:
    """What a status change waits for when an earlier one of its referral has not arrived yet."""
    return STATUS_WAIT + referral_id


def member_wait(referral_id: str) -> str:
    """What an attendance waits for when the delivery team named its referral on the cohort, but the facts
    that make the place lawful (an assessment, a correction) have not arrived yet."""
    return MEMBER_WAIT + referral_id


class Stale(Exception):
    """The event is older than the state it would change: recorded and ignored."""


@dataclass
class Context:
    uow: UnitOfWork
    envelope: Envelope
    rules: EngineRules
    dirty_regions: set[str] = field(default_factory=set)
    unparked: list[ParkedEvent] = field(default_factory=list)  # released by this event, applied next
    touched_crns: set[str] = field(default_factory=set)  # people whose facts changed: their places are re-checked
    touched_cohorts: set[str] = field(default_factory=set)  # cohorts whose definition or membership changed
    clock: datetime | None = None  # the event clock before this event: the latest event time applied
    # The payload's codes were checked against this engine's reference data already (the ingest's refusal of a
    # message alone, engine/services/admission.py): the handler's own check would find the same, so it is skipped.
    codes_checked: bool = False

    @property
    def today(self) -> date:
        """The date places are judged on (the freeze window): the later of this event's time and the clock,
        so an older event arriving late is judged as of when it is applied, whatever came before it."""
        return max(filter(None, (self.now, self.clock))).date()

    @property
    def now(self) -> datetime:
        return self.envelope.occurred_at

    @cached_property
    def event_id(self) -> str:
        return str(self.envelope.event_id)

    # freshness and parking ---------------------------------------------------------------------
    def require_fresh(self, entity) -> None:
        if entity.updated_at is not None and entity.updated_at > self.now:
            raise Stale(f"{type(entity).__name__} changed at {entity.updated_at:%Y-%m-%dT%H:%M:%S}")

    def newer_than_event(self, entity, name: str) -> bool:
        """A newer message already set this field (entities stored before field times: their updated_at)."""
        at = entity.field_times.get(name) or (entity.updated_at if not entity.field_times else None)
        return at is not None and at > self.now

    def set_fields(self, entity, values: dict) -> dict:
        """Set the fields no newer message has set, noting when; returns those set. None when every one
        is newer already (the event is stale)."""
        fresh = {name: value for name, value in values.items() if not self.newer_than_event(entity, name)}
        if values and not fresh:
            self.require_fresh(entity)  # raises Stale
        for name, value in fresh.items():
            setattr(entity, name, value)
            entity.field_times[name] = self.now
        self.stamp(entity)
        return fresh

    def stamp(self, *entities) -> None:
        for entity in entities:
            entity.updated_at = max(filter(None, (entity.updated_at, self.now)))
            self.touch(entity)

    def touch(self, entity) -> None:
        """Note what changed, so the places resting on it are re-checked after the event."""
        if isinstance(entity, Cohort):
            self.touched_cohorts.add(entity.cohort_id)
        elif getattr(entity, "crn", None):
            self.touched_crns.add(entity.crn)
            if getattr(entity, "cohort_id", None):
                self.touched_cohorts.add(entity.cohort_id)

    def need(self, entity, waiting_for: str):
        if entity is None:
            raise Parked(waiting_for)
        return entity

    def current_crn(self, crn: str) -> str:
        """The crn a case lives under now: merges followed (a crn never seen is its own)."""
        seen = {crn}
        person = self.uow.people.get(crn)
        while person is not None and person.merged_into and person.merged_into not in seen:
            crn = person.merged_into
            seen.add(crn)
            person = self.uow.people.get(crn)
        return crn

    def known_person(self, crn: str):
        """The person a referral belongs to, following merges; parks the event until the person is
        known with a region, so no referral exists that planning, the waiting list and alerts cannot see.
        It waits under the crn the case lives under now: a merge or that case's record releases it."""
        home = self.current_crn(crn)
        person = self.uow.people.get(home)
        if person is None or not person.region_code or person.merged_into:
            raise Parked(f"person:{home}")
        return person

    def wait_for_earlier_status(self, referral: Referral, to: ReferralStatus, needs: ReferralStatus | None = None,
                                why: str = "") -> None:
        """A move to ``to`` not valid from the referral's status now (``needs``: the status it must be in, when
        not any status ``to`` is allowed from). It waits under ``status:<referral_id>`` when an earlier status
        change of the referral, not arrived yet, could make it valid: it is tried again, in ``occurred_at``
        order, whenever a later-arriving event settles the referral's status (:meth:`settled`). It is refused
        at once (:class:`InvalidTransition`) when none could. Raises either way, before anything changed."""
        if to in ALLOCATION_ONLY:
            raise InvalidTransition(referral.referral_id, referral.status, to,
                                    "only an allocation can schedule a referral")
        if may_become_valid(referral.status, needs or to):
            raise Parked(status_wait(referral.referral_id))
        raise InvalidTransition(referral.referral_id, referral.status, to, why)

    def settled(self, referral: Referral) -> None:
        """This event set the referral's status as of its time (moved it, or re-stated it): the status changes
        that waited for an earlier one are tried again, in ``occurred_at`` order (older ones are then stale)."""
        self.arrived(status_wait(referral.referral_id))

    def arrived(self, waiting_for: str) -> None:
        """Something new exists: release the events parked for it."""
        self.unparked.extend(self.uow.unpark(waiting_for))

    # outbound ----------------------------------------------------------------------------------
    def emit(self, event_type: str, key: str, payload: BaseModel, discriminator: str = "") -> None:
        emit(self.uow, event_type, key, payload, self.now,
             stable_id(self.event_id, event_type, key, discriminator))

    # shared rules ------------------------------------------------------------------------------
    def deadline_of(self, referral: Referral) -> date | None:
        requirement = self.uow.requirements.get(referral.requirement_id)
        sentence = requirement and self.uow.sentences.get(requirement.sentence_id)
        return policies.deadline(requirement.end_date, sentence.expected_end_date) if sentence else None

    def schedule(self, cohort: Cohort) -> None:
        programme = self.rules.catalogue.get(cohort.programme_code)
        sessions = schedule_sessions(programme, cohort.slots, cohort.start_date, self.rules.is_holiday)
        cohort.end_date = sessions[-1].on
        group_days = [s.on for s in sessions if s.is_group]
        cohort.group_weeks = weeks_spanned(group_days)
        cohort.group_start = min(group_days, default=cohort.start_date)

    def region_of(self, crn: str) -> str:
        person = self.uow.people.get(crn)
        return person.region_code if person else ""

    def move(self, referral: Referral, to: ReferralStatus, reason: str) -> None:
        """One transition; a freed place removes the allocation and says why."""
        previous = referral.cohort_id
        if referral.move_to(to, self.now, reason, self.event_id):
            self.free_place(referral, previous, reason)
        self.stamp(referral)
        self.settled(referral)
        self.dirty_regions.add(self.region_of(referral.crn))

    def walk(self, referral: Referral, goal: ReferralStatus, reason: str,
             via: ReferralStatus | None = None) -> None:
        """Move along the graph to ``goal``, preferring a route through ``via`` (e.g. return to court)."""
        if referral.status == goal:
            return
        steps = self._route(referral.status, goal, via)
        for step in steps:
            self.move(referral, step, reason)

    @staticmethod
    def _route(start: ReferralStatus, goal: ReferralStatus, via: ReferralStatus | None):
        if via is not None and via not in (start, goal):
            try:
                return path_to(start, via) + path_to(via, goal)
            except Exception:  # no route through via: fall back to the shortest one
                pass
        return path_to(start, goal)

    def free_place(self, referral: Referral, cohort_id: str | None, reason: str) -> None:
        allocation = self.uow.allocations.get(referral.referral_id)
        self.uow.allocations.remove(referral.referral_id)
        if cohort_id is None:
            return
        self.emit("allocation.removed", referral.crn, AllocationRemoved(
            plan_version=allocation.plan_version if allocation else 0, referral_id=referral.referral_id,
            crn=referral.crn, previous_cohort_id=cohort_id, reason=reason), referral.referral_id)

    def recheck_place(self, referral: Referral, reason: str) -> None:
        """After a deadline or calendar change: keep the place only if the cohort still ends in time."""
        if referral.cohort_id is None:
            return
        cohort, deadline = self.uow.cohorts.get(referral.cohort_id), self.deadline_of(referral)
        if cohort is None or deadline is None:
            return
        latest_end = deadline - timedelta(days=self.rules.deadline_margin_days)
        if cohort.end_date <= latest_end:
            return
        allocation = self.uow.allocations.get(referral.referral_id)
        why = f"{reason}: cohort {cohort.cohort_id} ends {cohort.end_date}, after {latest_end}"
        if allocation is not None and allocation.pinned or referral.status != ReferralStatus.SCHEDULED:
            return  # the place is fixed: the allocation.finishes_late alert tells the case manager
        self.move(referral, ReferralStatus.AWAITING_ALLOCATION, why)

    def requirement_referrals(self, requirement: Requirement) -> list[Referral]:
        return self.uow.referrals.where(crn=requirement.crn, requirement_id=requirement.requirement_id)
