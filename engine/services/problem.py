"""State → the allocator's plain-data :class:`~solver.schema.Problem` (the allocation seam's input).

Who is pinned is decided here, not by allocators: anyone in a cohort that has started, or that
starts within the freeze window, is a fixed member; everyone else waiting or scheduled is a demand.

Whose facilitators are fixed is decided here too (:func:`staff_fixed`): staff people chose (the delivery
team's confirmation) are given and their hours reserved; the staff of a cohort the plan opened stay the
plan's choice, re-made (:func:`restaff`) whenever they no longer fit around everyone else's.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from engine import state_keys as keys
from engine.domain.capacity import weekly_hours
from engine.domain import policies
from engine.domain.model import Cohort, CohortStatus, Facilitator, Person, Referral
from engine.domain.statuses import ReferralStatus as S
from engine.domain.rules import EngineRules
from engine.ports import UnitOfWork
from engine.services.candidates import Grid, Variant, grid_offer, lookahead_cohorts, variant_of
from engine.services.overrides import with_overrides
from engine.reports.data import ReferralFact, referral_fact
from engine.reports.equity import trailing_groups
from solver import schema as s
from solver.rules import Ledger


@dataclass(frozen=True)
class Snapshot:
    """What the plan was built from, kept for the diff and the explanation of decisions."""

    problem: s.Problem
    referrals: dict[str, Referral]
    cohorts: dict[str, Cohort]
    deadlines: dict[str, date]
    pinned: set[str]
    grid: frozenset[str] = frozenset()  # candidate ids from the grid: not stored until the plan opens one
    people: dict[str, Person] = field(default_factory=dict)  # the people of the referrals, for the plan gate
    restaffed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # cohort id → the plan's new staff for it


def pinned_cohort(cohort: Cohort, as_of: date, freeze_days: int) -> bool:
    return cohort.status == CohortStatus.STARTED or cohort.start_date <= as_of + timedelta(days=freeze_days)


def build_problem(uow: UnitOfWork, region: str, as_of: date, rules: EngineRules,
                  params: s.Params, grid: Grid | None = None) -> Snapshot:
    cohorts = {c.cohort_id: c for c in uow.cohorts.where(region_code=region, status=[
        CohortStatus.PROPOSED, CohortStatus.CONFIRMED, CohortStatus.STARTED])}
    live = [cid for cid, c in cohorts.items() if c.live]
    # Only who matters to this plan: the waiting list and the members of running groups.
    candidates = uow.referrals.where(status=S.AWAITING_ALLOCATION) + (uow.referrals.where(
        cohort_id=live, status=[S.SCHEDULED, S.ON_PROGRAMME]) if live else [])
    people = {p.crn: p for p in uow.people.where(crn=sorted({r.crn for r in candidates}))
              if p.region_code == region} if candidates else {}
    referrals = [r for r in candidates if r.crn in people]
    deadlines = deadlines_of(uow, referrals)
    horizon = as_of + timedelta(weeks=params.horizon_weeks)
    pinned_ids = {cid for cid in live if pinned_cohort(cohorts[cid], as_of, params.freeze_days)}
    members: dict[str, list[Referral]] = {}
    demands = []
    movable = set(live) - pinned_ids
    # A place the delivery team gave (or one already pinned) is a fact, not the plan's to move.
    held = {a.referral_id for a in uow.allocations.where(cohort_id=sorted(movable), pinned=True)} if movable else set()
    moves = {keys.MOVES.parts(name)[0]: int(value) for name, value in uow.states(keys.MOVES.prefix).items()}
    for referral in referrals:
        holds_fixed_place = referral.cohort_id is not None and (
            referral.cohort_id not in movable or referral.referral_id in held)
        if holds_fixed_place or referral.status == S.ON_PROGRAMME:
            members.setdefault(referral.cohort_id or "", []).append(referral)
        elif _plannable(referral, deadlines.get(referral.referral_id), as_of, horizon):
            demands.append(_demand(referral, people[referral.crn], deadlines[referral.referral_id],
                                   moves.get(referral.referral_id, 0)))
    options = [cohort_option(c, members.get(cid, ()), rules, as_of, _named_by(members.get(cid, ()), people))
               for cid, c in sorted(cohorts.items()) if _offerable(c, cid in pinned_ids, as_of, horizon)]
    offices = uow.offices(region)
    staff = uow.facilitators.where(region_code=region)
    facilitators = tuple(_facilitators(staff, as_of))
    offered, extra = grid_offer(region, as_of, params.horizon_weeks, demands, offices, rules.catalogue,
                                rules.is_holiday, grid, facilitators) if grid else ([], frozenset())
    gridded = [c for c in offered if c.cohort_id not in cohorts]
    options += grid_options(gridded, extra, rules, as_of)
    if grid and grid.lookahead_weeks:
        ahead = [(c, n) for c, n in lookahead_cohorts(region, as_of, params.horizon_weeks, demands, offices,
                                                      rules.catalogue, rules.is_holiday, grid,
                                                      recent_arrivals(referrals, people, as_of, grid.lookahead_weeks),
                                                      facilitators)
                 if c.cohort_id not in cohorts and c.cohort_id not in {g.cohort_id for g in gridded}]
        # the plan fills now what the forecast does not: the option's minimum less the expected joiners
        options += [replace(cohort_option(c, (), rules, as_of), min_size=c.min_size - n, forecast_joiners=n)
                    for c, n in ahead]
        gridded += [c for c, _ in ahead]
    cohorts.update({c.cohort_id: c for c in gridded})
    restaffed = restaffing(options, {cid for cid, c in cohorts.items() if staff_fixed(c)}, staff, as_of)
    options = [replace(o, facilitator_ids=restaffed[o.cohort_id]) if o.cohort_id in restaffed else o for o in options]
    if params.equity_trailing_weight > 0:
        demands = weighted_for_equity(demands, trailing_groups(realised_facts(uow, region, as_of, rules), as_of,
                                                               params.equity_trailing_points),
                                      params.equity_trailing_weight)
    demands, options = with_overrides(uow, region, as_of, demands, options)
    problem = s.Problem(region, as_of, tuple(sorted(demands, key=lambda d: d.referral_id)), tuple(options),
                        facilitators, tuple(
                            s.Office(o.office_code, o.pdu_code, o.rooms) for o in offices), params)
    pinned = {r.referral_id for group in members.values() for r in group}
    return Snapshot(problem, {r.referral_id: r for r in referrals}, cohorts, deadlines, pinned,
                    frozenset(c.cohort_id for c in gridded), people, restaffed)


def recent_arrivals(referrals: Sequence[Referral], people: Mapping[str, Person], as_of: date,
                    weeks: int) -> dict[Variant, int]:
    """Variant → referrals made in the ``weeks`` before ``as_of`` among those the plan reads (the waiting list
    and running groups' members): what is known of each variant's arrival rate when the plan is made."""
    since = as_of - timedelta(weeks=weeks)
    out: dict[Variant, int] = {}
    for r in referrals:
        if since < r.referred_on <= as_of and r.crn in people:
            key = variant_of(r.programme_code, r.pathway, r.offence_cohort, r.ldc, people[r.crn].sex)
            out[key] = out.get(key, 0) + 1
    return out


def realised_facts(uow: UnitOfWork, region: str, as_of: date, rules: EngineRules) -> list[ReferralFact]:
    """The region's referrals whose order ended in the 52 weeks to ``as_of``, as the report's equity section
    reads them (the report's own :func:`~engine.reports.data.referral_fact` of the same row: deadline, the cohort
    held, requirement status, the first On programme date), from the unit of work: what has already happened
    when the plan is made."""
    people = {p.crn: p for p in uow.people.where(region_code=region)}
    referrals = uow.referrals.where(crn=sorted(people)) if people else []
    requirements, deadlines = requirements_of(uow, referrals)
    since = as_of - timedelta(weeks=52)
    ended = [r for r in referrals if since < deadlines.get(r.referral_id, date.min) <= as_of]
    held = sorted({r.cohort_id for r in ended if r.cohort_id})
    cohorts = {c.cohort_id: c for c in uow.cohorts.where(cohort_id=held)} if held else {}
    facts = []
    for r in ended:
        person, cohort = people[r.crn], cohorts.get(r.cohort_id or "")
        requirement = requirements.get(r.requirement_id)
        row = dict(referral_id=r.referral_id, crn=r.crn, programme_code=r.programme_code, status=str(r.status),
                   referred_on=r.referred_on, pdu_code=person.pdu_code, sex=person.sex,
                   ethnicity_group=person.ethnicity_group, ldc=r.ldc, deadline=deadlines[r.referral_id],
                   cohort_id=r.cohort_id, cohort_start=cohort.start_date if cohort else None,
                   cohort_end=cohort.end_date if cohort else None,
                   requirement_status=str(requirement.status) if requirement else None)
        facts.append(referral_fact(row, min((c.at.date() if hasattr(c.at, "date") else c.at for c in r.history
                                             if c.to_status == S.ON_PROGRAMME), default=None), as_of, rules))
    return facts


def weighted_for_equity(demands: Sequence[s.Demand], trailing: Mapping[str, set[str]],
                        weight: int) -> list[s.Demand]:
    """Each demand of a trailing group (:func:`~engine.reports.equity.trailing_groups`: sex, LDC) with
    ``weight`` added to its deadline-miss weight, once per group it belongs to."""
    def extra(d: s.Demand) -> int:
        ldc = "LDC" if d.ldc else "not LDC"
        return weight * ((d.sex in trailing.get("sex", ())) + (ldc in trailing.get("LDC", ())))
    return [replace(d, equity_weight=w) if (w := extra(d)) else d for d in demands]


def staff_fixed(cohort: Cohort) -> bool:
    """People chose this cohort's facilitators: the delivery team confirmed it (naming them, or confirming
    those it had) or set it up themselves. Otherwise they are the plan's own choice for a cohort it opened."""
    return cohort.origin != "PLAN" or "staff" in cohort.field_times


def restaffing(options: Sequence[s.CohortOption], fixed: set[str], staff: Sequence[Facilitator],
               as_of: date) -> dict[str, tuple[str, ...]]:
    """:func:`restaff` with the region's facilitators as stored: those in post can take over, and everyone's
    contracted hours bound the staff already assigned."""
    return restaff(options, fixed, tuple(_facilitators(staff, as_of)),
                   {f.facilitator_id: f.weekly_hours for f in staff}, as_of)


def restaff(options: Sequence[s.CohortOption], fixed: set[str], facilitators: Sequence[s.Facilitator],
            weekly_hours: Mapping[str, float], as_of: date) -> dict[str, tuple[str, ...]]:
    """Cohort id → new facilitators, for each running cohort the plan staffed whose facilitators no longer fit.

    The staff of cohorts in ``fixed`` are facts: their hours and slots are reserved first. Then each cohort
    the plan staffed, earliest first, keeps every facilitator still within their weekly hours and free on its
    slots from this week on. One who is not (a confirmation named them for another group, their hours were
    cut) is replaced by an eligible facilitator who is, in id order. With nobody to take over, they stay if
    only staff people fixed leave them no room (``facilitator.overbooked``: people decide who gives way), and
    leave the group if the plan's own groups do (``cohort.facilitators_short``): the plan never overbooks
    anyone by its own choices. The people holding its places keep them, inside the freeze window or not.
    """
    running = [o for o in options if o.state == s.CohortState.OPEN]
    claims, own = Ledger.of(o for o in running if o.cohort_id in fixed), Ledger()  # everyone's so far; the plan's
    pool = sorted(facilitators, key=lambda f: f.facilitator_id)
    out = {}
    for option in sorted((o for o in running if o.cohort_id not in fixed), key=lambda o: (o.start_date, o.cohort_id)):
        current = tuple(dict.fromkeys(option.facilitator_ids))
        staff = _staff_for(option, current, claims, own, pool, weekly_hours, as_of)
        if set(staff) != set(current):
            out[option.cohort_id] = tuple(sorted(staff))
        claims.add(option, staff)
        own.add(option, staff)
    return out


def _staff_for(option: s.CohortOption, current: tuple[str, ...], claims: Ledger, own: Ledger,
               pool: Sequence[s.Facilitator], weekly_hours: Mapping[str, float], as_of: date) -> list[str]:
    """The cohort's facilitators once each who no longer fits is replaced, kept or let go (see :func:`restaff`)."""
    spare = (f.facilitator_id for f in pool if f.facilitator_id not in current and claims.facilitator_fits(f, option))
    staff = []
    for fid in current:
        limit = weekly_hours.get(fid, float("inf"))
        if claims.load_fits(fid, limit, option, since=as_of):
            staff.append(fid)
        elif (other := next(spare, None)) is not None:
            staff.append(other)
        elif own.load_fits(fid, limit, option, since=as_of):
            staff.append(fid)  # only staff people fixed leave them no room: theirs to resolve
    return staff


def _plannable(referral: Referral, deadline: date | None, as_of: date, horizon: date) -> bool:
    """Waiting (or holding an unpinned place), with a deadline still ahead and ready within the horizon."""
    return deadline is not None and deadline > as_of and (referral.ready_from or as_of) <= horizon


def _offerable(cohort: Cohort, pinned: bool, as_of: date, horizon: date) -> bool:
    if cohort.live:
        return True  # places in running groups are counted even when full (members, load, rooms)
    return as_of + timedelta(days=1) <= cohort.start_date <= horizon and not pinned


def deadlines_of(uow: UnitOfWork, referrals: list[Referral]) -> dict[str, date]:
    return requirements_of(uow, referrals)[1]


def requirements_of(uow: UnitOfWork, referrals: list[Referral]) -> tuple[dict[str, object], dict[str, date]]:
    """(requirement id → requirement, referral id → deadline) for ``referrals``."""
    requirements = {q.requirement_id: q for q in uow.requirements.where(
        requirement_id=[r.requirement_id for r in referrals])} if referrals else {}
    sentences = {x.sentence_id: x for x in uow.sentences.where(
        sentence_id=[q.sentence_id for q in requirements.values()])} if requirements else {}
    out = {}
    for referral in referrals:
        requirement = requirements.get(referral.requirement_id)
        sentence = requirement and sentences.get(requirement.sentence_id)
        if sentence:
            out[referral.referral_id] = policies.deadline(requirement.end_date, sentence.expected_end_date)
    return requirements, out


def _demand(referral: Referral, person: Person, deadline: date, moves: int = 0) -> s.Demand:
    return s.Demand(
        referral_id=referral.referral_id, crn=referral.crn, programme_code=referral.programme_code,
        pathway=referral.pathway, offence_cohort=referral.offence_cohort, ldc=referral.ldc, sex=person.sex,
        risk_band=referral.risk_band, referred_on=referral.referred_on,
        ready_from=referral.ready_from or referral.referred_on, deadline=deadline, pdu_code=person.pdu_code,
        availability=frozenset((w, s.Period(p)) for w, p in person.availability),
        reachable_offices=frozenset(), excluded_offices=person.cannot_attend_offices,
        non_associations=person.non_associations, current_cohort_id=referral.cohort_id,
        ethnicity_group=person.ethnicity_group or "", moves=moves)


def _named_by(members, people: dict[str, Person]) -> frozenset[str]:
    """The crns a cohort's fixed members name as non-associations: the other side of the pair rule."""
    return frozenset().union(*(people[m.crn].non_associations for m in members if m.crn in people))


def grid_options(offered: Iterable[Cohort], extra: frozenset[str], rules: EngineRules,
                 as_of: date) -> list[s.CohortOption]:
    """The grid's new candidates as options; those only ``Grid.rare_every_step`` offers (``extra``, beyond the
    grid's budget) are marked, and the solver plans without them first (CohortOption.extra)."""
    return [replace(cohort_option(c, (), rules, as_of), extra=c.cohort_id in extra) for c in offered]


def cohort_option(cohort: Cohort, members, rules: EngineRules, as_of: date,
                  member_non_associations: frozenset[str] = frozenset()) -> s.CohortOption:
    programme = rules.catalogue.get(cohort.programme_code)
    hours = weekly_hours(programme, len(cohort.slots))
    return s.CohortOption(
        cohort_id=cohort.cohort_id, programme_code=cohort.programme_code, pathway=cohort.pathway,
        offence_cohort=cohort.offence_cohort, ldc=cohort.ldc, sex=cohort.sex, office_code=cohort.office_code,
        pdu_code=cohort.pdu_code, slots=tuple(s.Slot(x.weekday, x.start, s.Period(x.period)) for x in cohort.slots),
        start_date=cohort.start_date, end_date=cohort.end_date, min_size=cohort.min_size,
        max_size=cohort.max_size, state=s.CohortState.OPEN if cohort.live else s.CohortState.CANDIDATE,
        members=tuple(sorted(m.referral_id for m in members)), member_crns=tuple(sorted(m.crn for m in members)),
        member_non_associations=member_non_associations,
        facilitator_ids=cohort.facilitator_ids, facilitators_required=programme.facilitators_per_group,
        facilitator_weekly_hours=hours, group_weeks=max(1, cohort.group_weeks), load_start=cohort.group_start)


def _facilitators(staff: Sequence[Facilitator], as_of: date):
    for f in staff:
        if f.left_on is not None and f.left_on <= as_of:
            continue
        yield s.Facilitator(f.facilitator_id, f.programmes, f.offices, f.weekly_hours,
                            frozenset((w, s.Period(p)) for w, p in f.availability), f.absences, f.left_on)
