"""probation.sentences.v1: people, sentences, requirements, licence conditions, enforcement."""
from __future__ import annotations

from dataclasses import fields
from datetime import date

from engine.domain.errors import DomainError
from engine.domain.model import LifeStatus, Person, Requirement, Sentence, SentenceType
from engine.domain.statuses import ReferralStatus as S
from engine.events import inbound as i
from engine.handlers import status_log
from engine.handlers.access import join_access, limit_access
from engine.handlers.context import Context
from engine.handlers.status_log import Intent


def person_updated(ctx: Context, p: i.PersonUpdated) -> None:
    person = ctx.uow.people.get(p.crn)
    if person is None:
        person = ctx.uow.people.add(Person(crn=p.crn))
    changes = p.model_dump(exclude_unset=True, exclude={"crn", "limited_access"})
    if "non_associations" in changes:
        changes["non_associations"] = _kept_apart(ctx, p.crn, changes["non_associations"] or ())
    changes = {name: value for name, value in changes.items() if value is not None or name == "date_of_birth"}
    before = person.region_code
    # Field by field: a message arriving late sets only what nothing newer has set (a first record after a
    # correction still gives the region and the sex; an older non-association is kept with a newer address).
    fresh = ctx.set_fields(person, changes)
    if "non_associations" in fresh:  # a new list of their own: still joined with their merged cases' lists
        person.non_associations |= _named_by_sources(ctx, person)
    ctx.dirty_regions.update({before, person.region_code})
    follow_merges(ctx, person, fresh)
    if p.limited_access is not None:
        limit_access(ctx, p.crn, p.limited_access)
    ctx.arrived(f"person:{p.crn}")
    if (home := ctx.current_crn(p.crn)) != p.crn:
        ctx.arrived(f"person:{home}")  # a referral of the merged case waits for the case it lives under


# Unknown values: a person stored before field times owns every other field (see _own).
GAPS = {"region_code": "", "pdu_code": "", "date_of_birth": None, "ethnicity_group": ""}
# What a person's record says about them; non-associations are joined by a merge, the rest passed on.
FACTS = tuple(f.name for f in fields(Person)
              if f.name not in ("crn", "merged_into", "updated_at", "field_times", "non_associations"))


def sentence_imposed(ctx: Context, p: i.SentenceImposed) -> None:
    if p.expected_end_date <= p.start_date:
        raise DomainError(f"sentence {p.sentence_id}: end {p.expected_end_date} is not after start {p.start_date}")
    existing = ctx.uow.sentences.get(p.sentence_id)
    if existing is not None:
        ctx.require_fresh(existing)
    sentence = existing or ctx.uow.sentences.add(Sentence(
        p.sentence_id, ctx.current_crn(p.crn), SentenceType(p.sentence_type), p.start_date, p.expected_end_date))
    sentence.start_date, sentence.expected_end_date = p.start_date, p.expected_end_date
    ctx.stamp(sentence)
    ctx.arrived(f"sentence:{p.sentence_id}")


def sentence_amended(ctx: Context, p: i.SentenceAmended) -> None:
    sentence = ctx.need(ctx.uow.sentences.get(p.sentence_id), f"sentence:{p.sentence_id}")
    ctx.require_fresh(sentence)
    earlier = p.expected_end_date < sentence.expected_end_date
    sentence.expected_end_date = p.expected_end_date
    ctx.stamp(sentence)
    for referral in _open_referrals(ctx, sentence_id=p.sentence_id):
        ctx.dirty_regions.add(ctx.region_of(referral.crn))
        if earlier:
            ctx.recheck_place(referral, f"sentence end moved earlier to {p.expected_end_date}")


def sentence_terminated(ctx: Context, p: i.SentenceTerminated) -> None:
    sentence = ctx.need(ctx.uow.sentences.get(p.sentence_id), f"sentence:{p.sentence_id}")
    ctx.require_fresh(sentence)
    ctx.stamp(sentence)
    _terminate_sentence(ctx, sentence, p.terminated_on, f"sentence terminated: {p.reason}")


def requirement_created(ctx: Context, p: i.RequirementCreated) -> None:
    _create_requirement(ctx, p.requirement_id, p.crn, p.sentence_id, p.programme_code, p.end_date, "REQUIREMENT")


def licence_condition_created(ctx: Context, p: i.LicenceConditionCreated) -> None:
    _create_requirement(ctx, p.licence_condition_id, p.crn, p.sentence_id, p.programme_code, p.end_date,
                        "LICENCE_CONDITION")


def requirement_terminated(ctx: Context, p: i.RequirementTerminated) -> None:
    requirement = ctx.need(ctx.uow.requirements.get(p.requirement_id), f"requirement:{p.requirement_id}")
    _terminate_requirement(ctx, requirement, p.terminated_on, f"requirement terminated: {p.reason}")


def licence_condition_terminated(ctx: Context, p: i.LicenceConditionTerminated) -> None:
    requirement = ctx.need(ctx.uow.requirements.get(p.licence_condition_id),
                           f"requirement:{p.licence_condition_id}")
    _terminate_requirement(ctx, requirement, p.terminated_on, f"licence condition terminated: {p.reason}")


def case_merged(ctx: Context, p: i.CaseMerged) -> None:
    """Everything of the source case now belongs to the target crn; the source is kept as a pointer."""
    if p.source_crn == p.target_crn:
        raise DomainError(f"case.merged: source and target are the same crn {p.source_crn}")
    source = ctx.need(ctx.uow.people.get(p.source_crn), f"person:{p.source_crn}")
    # A target never seen has nothing of its own: it takes all the source's facts, so its referrals stay
    # visible to planning, the waiting list and alerts; the target's own person.updated then corrects them.
    target = ctx.uow.people.get(p.target_crn) or ctx.uow.people.add(Person(crn=p.target_crn))
    for repo in (ctx.uow.sentences, ctx.uow.requirements, ctx.uow.referrals):
        for entity in repo.where(crn=p.source_crn):
            entity.crn = p.target_crn
            repo.add(entity)  # re-index under the new crn
    for other in ctx.uow.people_naming(p.source_crn):  # who kept the source apart now keeps the target apart
        if other.crn not in (p.source_crn, p.target_crn):
            other.non_associations = other.non_associations | {p.target_crn}
            ctx.touch(other)
    source.merged_into = p.target_crn
    ctx.uow.people.add(source)  # re-index under the crn it is merged into
    # When the merge happened (the earliest copy): a fact about the source reported later is newer than it.
    source.field_times["merged_into"] = min(filter(None, (source.field_times.get("merged_into"), ctx.now)))
    ctx.stamp(source)
    follow_merges(ctx, source, (*FACTS, "non_associations"))  # touches the target: its places are re-checked
    join_access(ctx, p.source_crn, p.target_crn)
    ctx.dirty_regions.update({source.region_code, target.region_code})
    ctx.arrived(f"person:{p.target_crn}")
    ctx.arrived(f"person:{p.source_crn}")  # a referral waiting for the source's region now waits for the target


def follow_merges(ctx: Context, person: Person, names) -> None:
    """The fields ``names`` just set on ``person``, if a merged-away crn, reach the case it was merged into (and
    on, if that one was merged too), whenever they arrive: a late first record of the source still gives the
    target its region. Every handler setting a person's facts calls it after :meth:`Context.set_fields`."""
    seen = {person.crn}
    while names and person.merged_into and person.merged_into not in seen:
        target = ctx.uow.people.get(person.merged_into)
        if target is None:
            return
        before = target.region_code
        names = _pass_on(ctx, person, target, names)
        ctx.touch(target)
        ctx.dirty_regions.update({before, target.region_code})
        seen.add(target.crn)
        person = target


def _pass_on(ctx: Context, source: Person, target: Person, names) -> list[str]:
    """Give the target what the merged source knows, as in event order: a fact the source reported after the
    merge where the target has nothing newer; an older fact only where the target has no value of its own
    (the merge took the source's facts for what the target lacked). Returns the names the target took."""
    merged_at, passed = source.field_times.get("merged_into"), []
    for name in names:
        if name == "non_associations":
            if _join_non_associations(ctx, source, target):
                passed.append(name)
            continue
        at = source.field_times.get(name)
        if at is not None and merged_at is not None and at > merged_at:
            if (newer := target.field_times.get(name)) is not None and newer >= at:
                continue  # the target's own later message (or a later one of this source) stands
            target.field_times[name] = at
        elif _own(target, name):
            continue
        setattr(target, name, getattr(source, name))
        passed.append(name)
    return passed


def _join_non_associations(ctx: Context, source: Person, target: Person) -> bool:
    """The target is kept apart from whom its own list names and whom the newest list of each case merged into
    it names; whether that changed."""
    joined = _named_by_sources(ctx, target)
    if _own(target, "non_associations"):  # its own names cannot be told from those a merge added: keep all
        joined |= target.non_associations - {source.crn}
    changed = joined != target.non_associations
    target.non_associations = joined
    return changed


def _own(person: Person, name: str) -> bool:
    """The person's own messages set this field. One stored before field times owns every field it knows
    (all but an unknown region, office area, birth date or ethnicity)."""
    if person.field_times or person.updated_at is None:
        return name in person.field_times
    return getattr(person, name) != GAPS.get(name, object())


def _named_by_sources(ctx: Context, person: Person) -> frozenset[str]:
    """Whom the cases merged into this person name (their newest lists), leaving out the person's own crns."""
    sources = ctx.uow.people.where(merged_into=person.crn)
    named = frozenset().union(*(source.non_associations for source in sources))
    return named - {person.crn, *(source.crn for source in sources)}


def _kept_apart(ctx: Context, crn: str, named) -> frozenset[str]:
    """Whom a person is kept apart from: a merged case under its new crn as well (as the merge would have
    added it), never the person themself under any of their crns."""
    home = ctx.current_crn(crn)
    return frozenset(c for n in named for c in (n, ctx.current_crn(n)) if ctx.current_crn(c) != home)


def breach_raised(ctx: Context, p: i.BreachRaised) -> None:
    sentence = ctx.need(ctx.uow.sentences.get(p.sentence_id), f"sentence:{p.sentence_id}")
    sentence.status = LifeStatus.BREACHED
    reason = f"breach {p.breach_id} raised on {p.raised_on}"
    for referral in _late_or_open(ctx, p.sentence_id, Intent(ctx.now, ctx.event_id, "breach", reason=reason)):
        if referral.status == S.ON_PROGRAMME:
            ctx.move(referral, S.BREACH, reason)


def breach_concluded(ctx: Context, p: i.BreachConcluded) -> None:
    sentence = ctx.need(ctx.uow.sentences.get(p.sentence_id), f"sentence:{p.sentence_id}")
    if p.outcome == "EXTENDED" and p.new_end_date is None:
        raise DomainError(f"breach {p.breach_id}: outcome EXTENDED needs new_end_date")
    reason = f"breach {p.breach_id} concluded {p.outcome.lower()} on {p.concluded_on}"
    if p.outcome == "REVOKED":
        _terminate_sentence(ctx, sentence, p.concluded_on, reason)
        return
    sentence.status = LifeStatus.ACTIVE
    if p.new_end_date is not None:
        sentence.expected_end_date = p.new_end_date
    for referral in _open_referrals(ctx, sentence_id=p.sentence_id):
        ctx.dirty_regions.add(ctx.region_of(referral.crn))
    for referral in _late_or_open(ctx, p.sentence_id, Intent(ctx.now, ctx.event_id, "unbreach", reason=reason)):
        if referral.status == S.BREACH:
            ctx.move(referral, S.AWAITING_ASSESSMENT, reason)


def recall_raised(ctx: Context, p: i.RecallRaised) -> None:
    sentence = ctx.need(ctx.uow.sentences.get(p.sentence_id), f"sentence:{p.sentence_id}")
    sentence.status = LifeStatus.RECALLED
    reason = f"recall {p.recall_id} raised on {p.raised_on}"
    for referral in _late_or_open(ctx, p.sentence_id, Intent(ctx.now, ctx.event_id, "recall", reason=reason)):
        if referral.status not in (S.RECALL, S.RETURN_TO_COURT, S.DEFERRED, S.BREACH):
            ctx.walk(referral, S.RECALL, reason)


def recall_concluded(ctx: Context, p: i.RecallConcluded) -> None:
    sentence = ctx.need(ctx.uow.sentences.get(p.sentence_id), f"sentence:{p.sentence_id}")
    reason = f"recall {p.recall_id} concluded: {p.outcome.lower()} on {p.concluded_on}"
    sentence.status = LifeStatus.ACTIVE if p.outcome == "RE_RELEASED" else LifeStatus.RECALLED
    goal = S.AWAITING_ASSESSMENT if p.outcome == "RE_RELEASED" else S.WITHDRAWN
    intent = Intent(ctx.now, ctx.event_id, "recall_end", goal.value, reason)
    for referral in _late_or_open(ctx, p.sentence_id, intent):
        if referral.status == S.RECALL:
            ctx.move(referral, goal, reason)


# shared -------------------------------------------------------------------------------------------

def _create_requirement(ctx: Context, requirement_id: str, crn: str, sentence_id: str, programme_code: str,
                        end_date: date | None, kind: str) -> None:
    ctx.rules.catalogue.get(programme_code)  # unknown programme → dead letter, naming the code
    sentence = ctx.need(ctx.uow.sentences.get(sentence_id), f"sentence:{sentence_id}")
    requirement = ctx.uow.requirements.get(requirement_id)
    if requirement is None:
        requirement = ctx.uow.requirements.add(Requirement(requirement_id, ctx.current_crn(crn), sentence_id,
                                                           programme_code, kind))
    ctx.require_fresh(requirement)
    requirement.programme_code, requirement.end_date = programme_code, end_date
    if sentence.status == LifeStatus.TERMINATED:  # the order ended before this arrived: as in event order
        requirement.status = LifeStatus.TERMINATED
    ctx.stamp(requirement)
    ctx.arrived(f"requirement:{requirement_id}")


def _terminate_sentence(ctx: Context, sentence: Sentence, on: date, reason: str) -> None:
    """The order ended: every requirement of it terminated, and the closing kept in the sentence's log for all
    of them, so that a requirement or referral of it arriving later, dated before, is closed when the sentence
    was (in event-time order) and not when it arrived (found by tests/generative/test_late_producer.py)."""
    sentence.status = LifeStatus.TERMINATED
    status_log.record_sentence(ctx, sentence.sentence_id, Intent(ctx.now, ctx.event_id, "close",
                                                                 reason=f"{reason} on {on}"))
    for requirement in _requirements(ctx, sentence):
        _terminate_requirement(ctx, requirement, on, reason)


def _terminate_requirement(ctx: Context, requirement: Requirement, on: date, reason: str) -> None:
    requirement.status = LifeStatus.TERMINATED
    ctx.stamp(requirement)
    intent = Intent(ctx.now, ctx.event_id, "close", reason=f"{reason} on {on}")
    status_log.record_sentence(ctx, requirement.sentence_id, Intent(
        intent.at, intent.event_id, intent.kind, reason=intent.reason,
        facts={"requirement_id": requirement.requirement_id}))
    for referral in _in_order(ctx, ctx.requirement_referrals(requirement), intent):
        if not referral.status.closed:
            ctx.walk(referral, S.WITHDRAWN, intent.reason, via=S.RETURN_TO_COURT)


def _late_or_open(ctx: Context, sentence_id: str, intent: Intent) -> list:
    """The referrals of a sentence this event acts on as it arrives: :func:`_in_order` of all of them."""
    status_log.record_sentence(ctx, sentence_id, intent)
    sentence = ctx.uow.sentences.get(sentence_id)
    requirements = _requirements(ctx, sentence) if sentence else []
    if not requirements:
        return []
    referrals = ctx.uow.referrals.where(crn=sentence.crn, requirement_id=[r.requirement_id for r in requirements])
    return [r for r in _in_order(ctx, referrals, intent) if not r.status.closed]


def _in_order(ctx: Context, referrals, intent: Intent) -> list:
    """Each referral this event is late for (dated before a change already applied to it) takes it at its
    place in event-time order (:mod:`engine.handlers.status_log`); the rest are returned, for the event to act
    on as it arrives, with the intent logged (also where it changes nothing now: a later fold may need it)."""
    now = []
    for referral in referrals:
        if status_log.is_late(ctx, referral) and status_log.refold(ctx, referral, intent) is not None:
            continue
        status_log.record(ctx, referral, intent)
        now.append(referral)
    return now


def _requirements(ctx: Context, sentence: Sentence) -> list[Requirement]:
    # Scoped by crn as well: the batch prefetch covers a crn, so this is answered from memory.
    return ctx.uow.requirements.where(crn=sentence.crn, sentence_id=sentence.sentence_id)


def _open_referrals(ctx: Context, sentence_id: str):
    sentence = ctx.uow.sentences.get(sentence_id)
    requirements = _requirements(ctx, sentence) if sentence else []
    if not requirements:
        return []
    referrals = ctx.uow.referrals.where(crn=sentence.crn, requirement_id=[r.requirement_id for r in requirements])
    return [r for r in referrals if not r.status.closed]
