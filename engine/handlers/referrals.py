"""programmes.referrals.v1: intake, assessment, status changes, availability."""
from __future__ import annotations

from engine.domain import policies
from engine.domain.errors import DomainError
from engine.domain.model import LifeStatus, Referral, StatusChange
from engine.domain.statuses import ALLOCATION_ONLY, TRANSITIONS, ReferralStatus as S, parse_status
from engine.events import inbound as i
from engine.handlers.context import Context, Stale
from engine.handlers.sentences import follow_merges


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
    if requirement.status != LifeStatus.ACTIVE:  # the order ended before the referral arrived: as in event order
        ctx.walk(referral, S.WITHDRAWN, f"requirement {requirement.requirement_id} {requirement.status.lower()} "
                                        f"before the referral arrived", via=S.RETURN_TO_COURT)
    ctx.arrived(f"referral:{p.referral_id}")


def referral_assessed(ctx: Context, p: i.ReferralAssessed) -> None:
    referral = _referral(ctx, p.referral_id)
    if referral.status.closed:
        raise Stale(f"referral {referral.referral_id} is already {referral.status.lower()}")
    outcome = {"SUITABLE": S.AWAITING_ALLOCATION, "SUITABLE_NOT_READY": S.SUITABLE_NOT_READY,
               "NOT_SUITABLE": S.RETURN_TO_COURT}[p.outcome]
    reassessment = referral.status == outcome == S.AWAITING_ALLOCATION
    if not reassessment and referral.status != S.AWAITING_ASSESSMENT:
        ctx.wait_for_earlier_status(referral, outcome, S.AWAITING_ASSESSMENT,
                                    "an assessment applies only to a referral awaiting assessment")
    risk = _risk(referral, p)
    referral.pathway, referral.offence_cohort, referral.ldc = p.pathway, p.offence_cohort, p.ldc
    referral.risk_band, referral.need_band = str(risk), str(policies.need_band(p.need_score))
    referral.ready_from = p.ready_from or ctx.now.date()
    if not reassessment:
        ctx.move(referral, outcome, f"assessed {p.outcome.lower().replace('_', ' ')}")
    else:
        ctx.settled(referral)
    ctx.stamp(referral)  # a confirmation that came first and named them is decided again after the event


def referral_status_changed(ctx: Context, p: i.ReferralStatusChanged) -> None:
    referral = _referral(ctx, p.referral_id)
    to = parse_status(p.to_status)
    if to != referral.status and to not in TRANSITIONS[referral.status] - ALLOCATION_ONLY:
        ctx.wait_for_earlier_status(referral, to)  # before anything changes: a waiting event changed nothing
    if p.ready_from is not None:
        referral.ready_from = p.ready_from
    if to == referral.status:  # the source system re-stating the current status: nothing moves, but the
        ctx.stamp(referral)    # status is as of this event, so an older change arriving later is stale
        ctx.settled(referral)
        return
    ctx.move(referral, to, p.reason or "status changed by practitioner")


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


def _risk(referral: Referral, p: i.ReferralAssessed) -> str:
    """Risk band from the scores; an unsuitable outcome may come without scores."""
    try:
        return policies.risk_band(ogrs3=p.ogrs3, ovp=p.ovp, rsr=p.rsr, osp=p.osp, sara=p.sara)
    except DomainError:
        if p.outcome == "NOT_SUITABLE":
            return referral.risk_band
        raise


def _referral(ctx: Context, referral_id: str) -> Referral:
    referral = ctx.need(ctx.uow.referrals.get(referral_id), f"referral:{referral_id}")
    ctx.require_fresh(referral)
    return referral
