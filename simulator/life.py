"""What happens to an order after sentence: amendments, transfers, breaches, recalls, terminations.

Each is drawn once per case with its yearly rate over the order. Events that end the case
(early termination, revocation after breach, recall to custody) compete: the earliest wins and
nothing of the case is emitted after it.
"""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta

from engine.events import inbound as i
from simulator.cases import Case
from simulator.clock import (
    SENTENCES_SOURCE, Emitted, add_months, add_working_days, after, between, happens, months_between,
    next_working_day, office_hours, uniform_day, weighted,
)
from simulator.people import Ids, availability_updated, draw_availability
from simulator.region import World

EARLY_TERMINATION_REASONS = (("GOOD_PROGRESS", .6), ("RESENTENCED", .3), ("DECEASED", .1))
AMENDED_REASON = "VARIED_BY_COURT"
MERGE_NOTE_HOUR = 8  # duplicate records are created by overnight data loads


def add_life(world: World, ids: Ids, case: Case) -> None:
    """Draw the case's later history into ``case.events`` and, if it ends early, ``case.closing``."""
    rng, p = case.life_rng, world.params
    years = months_between(case.start, case.end) / 12
    first, last = case.start + timedelta(weeks=1), case.end - timedelta(days=1)
    settled = max(first, max(e.at for e in case.events).date() + timedelta(days=1))  # referral flow done
    endings: list[list[Emitted]] = [case.closing] if case.closing else []
    if happens(rng, p.amendment_rate, years):
        _amend(rng, world, case, uniform_day(rng, first, last))
    if happens(rng, p.pdu_transfer_rate, years):
        _transfer(rng, world, case, uniform_day(rng, first, last))
    changed_from = case.ready_at.date() + timedelta(weeks=2) if case.ready_at else last
    if changed_from < last and rng.random() < p.availability_change_share:
        _availability_change(rng, world, case, uniform_day(rng, changed_from, last))
    if happens(rng, p.early_termination_rate, years):
        endings.append(_early_termination(rng, world, case, uniform_day(rng, first, last)))
    if case.licence and happens(rng, p.recall_rate, years) and settled < last:  # recalls wait for it
        endings.append(_recall(rng, world, ids, case, uniform_day(rng, settled, last)))
    if not case.licence and happens(rng, p.breach_rate, years):
        endings.append(breach(rng, world, ids, case, uniform_day(rng, first, last), case.end))
    if rng.random() < p.case_merge_rate:
        _merge(rng, world, ids, case)
    endings = [e for e in endings if e]
    case.closing = min(endings, key=lambda group: group[0].at) if endings else []


def _amend(rng: random.Random, world: World, case: Case, on: date) -> None:
    p = world.params
    months = between(rng, p.amendment_months)
    if rng.random() < p.amendment_earlier_share:
        new_end = max(add_months(case.end, -months), on + timedelta(weeks=4))
    else:
        new_end = add_months(case.end, months)
        if case.sentence_type == "COMMUNITY_ORDER":
            new_end = min(new_end, add_months(case.start, p.max_community_order_months))
    if new_end != case.end:
        case.sentence_event("sentence.amended", i.SentenceAmended(
            crn=case.crn, sentence_id=case.sentence_id, expected_end_date=new_end, reason=AMENDED_REASON),
            office_hours(rng, next_working_day(on, world.is_holiday)))


def _transfer(rng: random.Random, world: World, case: Case, on: date) -> None:
    others = [pdu for pdu in world.region.pdus if pdu.pdu_code != case.person.pdu_code]
    if not others:
        return
    pdu = rng.choices(others, weights=[x.demand_weight for x in others])[0].pdu_code
    case.sentence_event("person.updated", i.PersonUpdated(crn=case.crn, region_code=world.code, pdu_code=pdu),
                        office_hours(rng, next_working_day(on, world.is_holiday)))


def _availability_change(rng: random.Random, world: World, case: Case, on: date) -> None:
    """A new job or caring duties: the person's availability is recorded again."""
    person = replace(case.person, availability=draw_availability(rng, world.params, case.person.sex))
    case.referral_event("referral.availability_updated", availability_updated(person, case.referral_id),
                        office_hours(rng, next_working_day(on, world.is_holiday)))


def _early_termination(rng: random.Random, world: World, case: Case, on: date) -> list[Emitted]:
    on = next_working_day(on, world.is_holiday)
    moment = office_hours(rng, on)
    reason = weighted(rng, EARLY_TERMINATION_REASONS)
    sentence = Emitted(moment, "sentence.terminated", case.crn, i.SentenceTerminated(
        crn=case.crn, sentence_id=case.sentence_id, terminated_on=on, reason=reason), SENTENCES_SOURCE)
    return [sentence, case.terminate_requirement(after(moment, rng, 1, 5), on, f"SENTENCE_{reason}")]


def breach(rng: random.Random, world: World, ids: Ids, case: Case, on: date, end: date) -> list[Emitted]:
    """A breach raised on ``on`` (working days later) and concluded weeks later.

    Returns the closing events when the court revokes the order, else adds everything to the case.
    """
    p, holiday = world.params, world.is_holiday
    breach_id = ids.next("BR")
    raised_on = add_working_days(on, between(rng, p.breach_raised_working_days), holiday)
    case.sentence_event("enforcement.breach_raised", i.BreachRaised(
        crn=case.crn, sentence_id=case.sentence_id, breach_id=breach_id, raised_on=raised_on),
        office_hours(rng, raised_on))
    concluded_on = next_working_day(raised_on + timedelta(weeks=between(rng, p.breach_concluded_weeks)), holiday)
    outcome = weighted(rng, p.breach_outcome_shares)
    new_end = add_months(end, between(rng, p.breach_extension_months)) if outcome == "EXTENDED" else None
    moment = office_hours(rng, concluded_on)
    concluded = Emitted(moment, "enforcement.breach_concluded", case.crn, i.BreachConcluded(
        crn=case.crn, sentence_id=case.sentence_id, breach_id=breach_id, concluded_on=concluded_on,
        outcome=outcome, new_end_date=new_end), SENTENCES_SOURCE)
    if outcome != "REVOKED":
        case.events.append(concluded)
        return []
    return [concluded, Emitted(after(moment, rng, 1, 5), "sentence.terminated", case.crn, i.SentenceTerminated(
        crn=case.crn, sentence_id=case.sentence_id, terminated_on=concluded_on, reason="REVOKED"),
        SENTENCES_SOURCE)]


def _recall(rng: random.Random, world: World, ids: Ids, case: Case, on: date) -> list[Emitted]:
    p, holiday = world.params, world.is_holiday
    recall_id = ids.next("RCL")
    raised_on = next_working_day(on, holiday)
    case.sentence_event("enforcement.recall_raised", i.RecallRaised(
        crn=case.crn, sentence_id=case.sentence_id, recall_id=recall_id, raised_on=raised_on),
        office_hours(rng, raised_on))
    concluded_on = next_working_day(raised_on + timedelta(weeks=between(rng, p.recall_concluded_weeks)), holiday)
    outcome = weighted(rng, p.recall_outcome_shares)
    concluded = Emitted(office_hours(rng, concluded_on), "enforcement.recall_concluded", case.crn,
                        i.RecallConcluded(crn=case.crn, sentence_id=case.sentence_id, recall_id=recall_id,
                                          concluded_on=concluded_on, outcome=outcome), SENTENCES_SOURCE)
    if outcome == "CUSTODY":
        return [concluded]
    case.events.append(concluded)
    reassess(rng, world, case, concluded.at)
    return []


def reassess(rng: random.Random, world: World, case: Case, since: datetime) -> None:
    """Back to assessment (after a recall, a breach or leaving a group): assessed suitable again."""
    if case.assessment is None or case.outcome != "SUITABLE":
        return
    on = next_working_day(since.date() + timedelta(weeks=between(rng, world.params.assessment_weeks)),
                          world.is_holiday)
    case.referral_event("referral.assessed", case.assessment.payload(
        case.variant, case.referral_id, case.crn, "SUITABLE"), max(office_hours(rng, on), after(since, rng)))


def _merge(rng: random.Random, world: World, ids: Ids, case: Case) -> None:
    """A duplicate record of the person, created on sentence day and merged into theirs weeks later."""
    duplicate = ids.crn()
    created = case.events[0].at - timedelta(minutes=rng.randint(10, 60))
    payload = i.PersonUpdated(crn=duplicate, region_code=world.code, pdu_code=case.person.pdu_code,
                              sex=case.person.sex, date_of_birth=case.person.date_of_birth)
    case.events.append(Emitted(created, "person.updated", duplicate, payload, SENTENCES_SOURCE))
    merged_on = next_working_day(case.start + timedelta(weeks=between(rng, world.params.case_merge_weeks)),
                                 world.is_holiday)
    case.sentence_event("case.merged", i.CaseMerged(source_crn=duplicate, target_crn=case.crn),
                        office_hours(rng, merged_on, MERGE_NOTE_HOUR, MERGE_NOTE_HOUR + 1))
