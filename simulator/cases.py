"""One case from court to the waiting list: person, sentence, requirement, referral, assessment.

What happens to the order afterwards (amendments, breaches, recalls, terminations) is added by
:mod:`simulator.life`; what happens on a group by :mod:`simulator.running`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from engine.events import inbound as i
from simulator.clock import (
    REFERRALS_SOURCE, SENTENCES_SOURCE, Emitted, add_months, add_working_days, after, between, child,
    next_working_day, office_hours, weighted,
)
from simulator.people import Ids, Person, availability_updated, draw_person, person_updated
from simulator.params import Variant
from simulator.region import World
from simulator.scores import Assessment, draw_assessment

REFERRAL_SOURCE = "COMMUNITY"
COURT_HOURS = (10, 16)
MIN_REQUIREMENT_MONTHS = 6  # a court end date never leaves less than this to do the programme
NOT_SUITABLE_REASON = "NOT_SUITABLE_RETURNED_TO_COURT"


@dataclass
class Case:
    """One person with one programme requirement (or licence condition) and its referral."""

    person: Person
    variant: Variant
    sentence_type: str
    sentence_id: str
    start: date
    end: date
    requirement_id: str
    requirement_end: date | None
    referral_id: str
    outcome: str
    ready_at: datetime | None  # when assessed SUITABLE (joined the waiting list); None if never
    life_rng: random.Random
    assessment: Assessment | None = None
    events: list[Emitted] = field(default_factory=list)
    closing: list[Emitted] = field(default_factory=list)  # events that end the case, if any

    @property
    def crn(self) -> str:
        return self.person.crn

    @property
    def licence(self) -> bool:
        return self.sentence_type == "LICENCE"

    @property
    def deadline(self) -> date:
        return self.requirement_end or self.end

    @property
    def ends_at(self) -> datetime | None:
        return self.closing[0].at if self.closing else None

    def emitted(self) -> list[Emitted]:
        """The case's events in time order, nothing after the event that ends it."""
        cut = self.ends_at
        kept = [e for e in self.events if cut is None or e.at < cut]
        return sorted(kept + self.closing, key=lambda e: e.at)

    def sentence_event(self, event_type: str, payload, moment: datetime) -> None:
        self.events.append(Emitted(moment, event_type, self.crn, payload, SENTENCES_SOURCE))

    def referral_event(self, event_type: str, payload, moment: datetime) -> None:
        self.events.append(Emitted(moment, event_type, self.crn, payload, REFERRALS_SOURCE))

    def terminate_requirement(self, moment: datetime, on: date, reason: str) -> Emitted:
        if self.licence:
            payload = i.LicenceConditionTerminated(crn=self.crn, licence_condition_id=self.requirement_id,
                                                   terminated_on=on, reason=reason)
            return Emitted(moment, "licence_condition.terminated", self.crn, payload, SENTENCES_SOURCE)
        payload = i.RequirementTerminated(crn=self.crn, requirement_id=self.requirement_id,
                                          terminated_on=on, reason=reason)
        return Emitted(moment, "requirement.terminated", self.crn, payload, SENTENCES_SOURCE)


def new_case(rng: random.Random, world: World, ids: Ids, court_day: date, recent: dict[str, list[str]]) -> Case:
    """A case sentenced on ``court_day``, with its events up to the waiting list."""
    p = world.params
    variant = weighted(rng, [(v, v.share) for v in world.mix])
    person = draw_person(rng, world, variant, ids.crn(), court_day, recent)
    sentence_type = weighted(rng, p.source_shares)
    end = add_months(court_day, _order_months(rng, world, sentence_type, variant))
    case = Case(person, variant, sentence_type, ids.next("SEN"), court_day, end,
                ids.next("LC" if sentence_type == "LICENCE" else "RQ"),
                _court_end_date(rng, world, variant, court_day, end), ids.next("REF"), "", None, child(rng))
    imposed = office_hours(rng, court_day, *COURT_HOURS)
    _sentence(rng, world, case, imposed)
    _referral(rng, world, case, court_day, imposed)
    return case


def _order_months(rng: random.Random, world: World, sentence_type: str, variant: Variant) -> int:
    p = world.params
    if sentence_type == "COMMUNITY_ORDER":
        months = weighted(rng, p.community_order_months)
    elif sentence_type == "SUSPENDED_SENTENCE_ORDER":
        months = weighted(rng, p.sso_months)
    else:
        low, mode, high = p.licence_months
        months = round(rng.triangular(low, high, mode))
    return max(months, world.programme(variant.programme_code).min_order_months or 0)


def _court_end_date(rng: random.Random, world: World, variant: Variant, start: date, end: date) -> date | None:
    p = world.params
    if rng.random() >= p.court_end_date_share:
        return None
    minimum = max(MIN_REQUIREMENT_MONTHS, world.programme(variant.programme_code).min_order_months or 0)
    earlier = add_months(end, -between(rng, p.court_end_date_months_earlier))
    return earlier if earlier > add_months(start, minimum) else None


def _sentence(rng: random.Random, world: World, case: Case, imposed: datetime) -> None:
    person = case.person
    case.sentence_event("person.updated", person_updated(world, person), imposed - timedelta(minutes=2))
    case.sentence_event("sentence.imposed", i.SentenceImposed(
        crn=case.crn, sentence_id=case.sentence_id, sentence_type=case.sentence_type,
        start_date=case.start, expected_end_date=case.end), imposed)
    code = case.variant.programme_code
    if case.licence:
        payload = i.LicenceConditionCreated(crn=case.crn, sentence_id=case.sentence_id,
                                            licence_condition_id=case.requirement_id, programme_code=code,
                                            end_date=case.requirement_end)
        case.sentence_event("licence_condition.created", payload, after(imposed, rng, 1, 5))
    else:
        payload = i.RequirementCreated(crn=case.crn, sentence_id=case.sentence_id,
                                       requirement_id=case.requirement_id, programme_code=code,
                                       end_date=case.requirement_end)
        case.sentence_event("requirement.created", payload, after(imposed, rng, 1, 5))


def _referral(rng: random.Random, world: World, case: Case, court_day: date, imposed: datetime) -> None:
    p, holiday = world.params, world.is_holiday
    referred_on = add_working_days(court_day, between(rng, p.referral_working_days), holiday)
    referred = max(office_hours(rng, referred_on), imposed + timedelta(hours=1))
    case.referral_event("referral.created", i.ReferralCreated(
        referral_id=case.referral_id, crn=case.crn, requirement_id=case.requirement_id,
        programme_code=case.variant.programme_code, source=REFERRAL_SOURCE, referred_on=referred_on),
        referred)
    assessed_on = next_working_day(referred_on + timedelta(days=rng.randint(
        7 * p.assessment_weeks[0], 7 * p.assessment_weeks[1])), holiday)
    assessed = office_hours(rng, assessed_on)
    assessment = case.assessment = draw_assessment(rng, world, case.variant)
    u = rng.random()
    if u < p.not_suitable_share:
        case.outcome = "NOT_SUITABLE"
        case.referral_event("referral.assessed", assessment.payload(
            case.variant, case.referral_id, case.crn, "NOT_SUITABLE"), assessed)
        _return_to_court(rng, world, case, assessed_on)
        return
    if u < p.not_suitable_share + p.not_ready_share:
        assessed = _not_ready(rng, world, case, assessment, assessed_on, assessed)
    case.outcome = "SUITABLE"
    case.referral_event("referral.assessed", assessment.payload(
        case.variant, case.referral_id, case.crn, "SUITABLE"), assessed)
    case.ready_at = assessed
    case.referral_event("referral.availability_updated", availability_updated(case.person, case.referral_id),
                        after(assessed, rng, 5, 120))


def _not_ready(rng: random.Random, world: World, case: Case, assessment: Assessment, assessed_on: date,
               assessed: datetime) -> datetime:
    """Suitable but not ready: back to assessment on ``ready_from``, then reassessed suitable."""
    p, holiday = world.params, world.is_holiday
    ready_from = next_working_day(assessed_on + timedelta(weeks=between(rng, p.not_ready_weeks)), holiday)
    case.referral_event("referral.assessed", assessment.payload(
        case.variant, case.referral_id, case.crn, "SUITABLE_NOT_READY", ready_from), assessed)
    reopened = office_hours(rng, ready_from, 9, 12)
    case.referral_event("referral.status_changed", i.ReferralStatusChanged(
        referral_id=case.referral_id, crn=case.crn, to_status="AWAITING_ASSESSMENT",
        reason=f"ready from {ready_from}: reassessment due", ready_from=ready_from), reopened)
    reassessed_on = add_working_days(ready_from, between(rng, p.reassessment_working_days), holiday)
    return max(office_hours(rng, reassessed_on), after(reopened, rng, 30, 240))


def _return_to_court(rng: random.Random, world: World, case: Case, assessed_on: date) -> None:
    """Not suitable: the court removes the requirement some weeks later."""
    on = next_working_day(assessed_on + timedelta(weeks=between(rng, world.params.not_suitable_terminated_weeks)),
                          world.is_holiday)
    case.closing = [case.terminate_requirement(office_hours(rng, on), on, NOT_SUITABLE_REASON)]
