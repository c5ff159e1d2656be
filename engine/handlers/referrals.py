"""programmes.referrals.v1: intake, assessment, status changes, availability."""
from __future__ import annotations

from engine.domain import policies
from engine.domain.errors import DomainError
from engine.domain.model import LifeStatus, Referral, StatusChange
from engine.domain.statuses import ALLOCATION_ONLY, TRANSITIONS, ReferralStatus as S, parse_status
from engine.events import inbound as i
from engine.handlers import status_log
from engine.handlers.context import Context, Stale
from engine.handlers.sentences import follow_merges
from engine.handlers.status_log import Intent


def referral_created(ctx: Context, p: i.ReferralCreated) -> None:
    requirement = ctx.need(ctx.uow.requirements.get(p.requirement_id), f"requirement:{p.requirement_id}")
    crn = ctx.known_person(p.crn).crn  # a merged case's referral belongs to the case it was merged into
    if crn != p.crn:
        p = p.model_copy(update={"crn": crn})
    if requirement.crn != p.crn:
        raise DomainError(f"referral {p.referral_id}: requirement {p.requirement_id} belongs to "
                          f"{requirement.crn}, not {p.crn}")
    if p.programme_code != requirement.programme_code:
        raise DomainError(f"referral {p.referral_id}: programme {p.programme_code} differs from "
                          f"requirement {p.requirement_id} ({requirement.programme_code})")
    if ctx.uow.referrals.get(p.referral_id) is not None:
        return  # the same referral re-sent with a new event id: intake is idempotent
    duplicate = ctx.uow.referrals.where(crn=p.crn, requirement_id=p.requirement_id, source=p.source)
    if duplicate:
        raise DomainError(f"referral {p.referral_id}: {p.crn} already has referral "
                          f"{duplicate[0].referral_id} for requirement {p.requirement_id} from {p.source}")
    referral = ctx.uow.referrals.add(Referral(p.referral_id, p.crn, p.requirement_id, p.programme_code,
                                              p.source, p.referred_on))
    referral.history.append(StatusChange(ctx.now, None, S.AWAITING_ASSESSMENT, "referral received",
                                         ctx.event_id))
    ctx.stamp(referral)
    later = status_log.start(ctx, referral, requirement.sentence_id)
    closed_later = any(intent.kind == "close" for intent in later)
    if requirement.status != LifeStatus.ACTIVE and not closed_later:  # the order ended before: as in event order
        reason = f"requirement {requirement.requirement_id} {requirement.status.lower()} before the referral arrived"
        ctx.walk(referral, S.WITHDRAWN, reason, via=S.RETURN_TO_COURT)
        status_log.record(ctx, referral, Intent(ctx.now, ctx.event_id, "close", reason=reason))
    status_log.catch_up(ctx, referral, later)  # a referral whose producer was late: what its sentence did since
    ctx.arrived(f"referral:{p.referral_id}")


def referral_assessed(ctx: Context, p: i.ReferralAssessed) -> None:
    referral = ctx.need(ctx.uow.referrals.get(p.referral_id), f"referral:{p.referral_id}")
    outcome = {"SUITABLE": S.AWAITING_ALLOCATION, "SUITABLE_NOT_READY": S.SUITABLE_NOT_READY,
               "NOT_SUITABLE": S.RETURN_TO_COURT}[p.outcome]
    scored = _risk(None, p)
    facts = {"pathway": p.pathway, "offence_cohort": p.offence_cohort, "ldc": p.ldc, "risk_band": scored,
             "need_band": str(policies.need_band(p.need_score)),
             "ready_from": (p.ready_from or ctx.now.date()).isoformat()}
    intent = Intent(ctx.now, ctx.event_id, "assessed", outcome.value,
                    f"assessed {p.outcome.lower().replace('_', ' ')}", facts)
    if _in_event_time_order(ctx, referral, intent):
        return
    if referral.status.closed:
        raise Stale(f"referral {referral.referral_id} is already {referral.status.lower()}")
    reassessment = referral.status == outcome == S.AWAITING_ALLOCATION
    if not reassessment and referral.status != S.AWAITING_ASSESSMENT:
        ctx.wait_for_earlier_status(referral, outcome, S.AWAITING_ASSESSMENT,
                                    "an assessment applies only to a referral awaiting assessment")
    referral.pathway, referral.offence_cohort, referral.ldc = p.pathway, p.offence_cohort, p.ldc
    referral.risk_band, referral.need_band = str(scored or referral.risk_band), facts["need_band"]
    referral.ready_from = p.ready_from or ctx.now.date()
    if not reassessment:
        ctx.move(referral, outcome, intent.reason)
    else:
        ctx.settled(referral)
    ctx.stamp(referral)  # a confirmation that came first and named them is decided again after the event
    status_log.record(ctx, referral, intent)


def referral_status_changed(ctx: Context, p: i.ReferralStatusChanged) -> None:
    referral = ctx.need(ctx.uow.referrals.get(p.referral_id), f"referral:{p.referral_id}")
    to = parse_status(p.to_status)
    intent = Intent(ctx.now, ctx.event_id, "to", to.value, p.reason or "status changed by practitioner",
                    {"ready_from": p.ready_from.isoformat()} if p.ready_from is not None else {})
    if _in_event_time_order(ctx, referral, intent):
        return
    if to != referral.status and to not in TRANSITIONS[referral.status] - ALLOCATION_ONLY:
        ctx.wait_for_earlier_status(referral, to)  # before anything changes: a waiting event changed nothing
    if p.ready_from is not None:
        referral.ready_from = p.ready_from
    if to == referral.status:  # the source system re-stating the current status: nothing moves, but the
        ctx.stamp(referral)    # status is as of this event, so an older change arriving later is stale
        ctx.settled(referral)
    else:
        ctx.move(referral, to, intent.reason)
    status_log.record(ctx, referral, intent)


def referral_availability_updated(ctx: Context, p: i.ReferralAvailabilityUpdated) -> None:
    """The person's availability and offices, each field kept from the newest message that set it (a change
    to the referral since, such as a place, does not make an older availability stale)."""
    ctx.need(ctx.uow.referrals.get(p.referral_id), f"referral:{p.referral_id}")
    person = ctx.need(ctx.uow.people.get(p.crn), f"person:{p.crn}")
    fresh = ctx.set_fields(person, {"availability": frozenset((w.weekday, w.period) for w in p.availability),
                                    "preferred_offices": frozenset(p.preferred_offices),
                                    "cannot_attend_offices": frozenset(p.cannot_attend_offices)})
    follow_merges(ctx, person, fresh)  # a case merged away: its target takes what it did not set itself
    ctx.dirty_regions.add(person.region_code)


def _risk(referral: Referral | None, p: i.ReferralAssessed) -> str | None:
    """Risk band from the scores; an unsuitable outcome may come without scores (then the referral's band
    stands: None without a referral)."""
    try:
        return str(policies.risk_band(ogrs3=p.ogrs3, ovp=p.ovp, rsr=p.rsr, osp=p.osp, sara=p.sara))
    except DomainError:
        if p.outcome == "NOT_SUITABLE":
            return referral.risk_band if referral is not None else None
        raise


def _in_event_time_order(ctx: Context, referral: Referral, intent: Intent) -> bool:
    """A status event dated before a change already applied to the referral takes its place in event-time
    order (:mod:`engine.handlers.status_log`): True, done (:class:`Stale` when that changes nothing, as
    before). False for one that is not late, to be applied as it arrives; one the fold may not be trusted
    with is stale, as before, when the referral changed after it."""
    if status_log.is_late(ctx, referral):
        changed = status_log.refold(ctx, referral, intent)
        if changed is False:
            raise Stale(f"referral {referral.referral_id}: in event-time order this changes nothing")
        if changed:
            return True
    ctx.require_fresh(referral)
    return False
