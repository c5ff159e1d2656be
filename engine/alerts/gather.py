"""State → :class:`AlertInputs` for one region, read inside the caller's unit of work."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from engine.alerts.inputs import (
    HOLDING_PLACE,
    NOT_STARTED,
    RUNNING,
    UPCOMING,
    AbsenceView,
    AlertInputs,
    CohortView,
    FacilitatorView,
    ReferralView,
)
from engine import state_keys as keys
from engine.alerts.model import ALL_REGIONS
from engine.domain.model import Cohort, CohortStatus
from engine.domain.rules import EngineRules
from engine.handlers.confirmations import refusals
from engine.ports import UnitOfWork
from engine.services import safety
from engine.domain.capacity import programme_loads
from engine.domain.deadlines import latest_start_any
from engine.domain.capacity import weekly_hours
from engine.services.problem import pinned_cohort

UNACCEPTABLE = "UAAB"
_WATCHED = sorted(NOT_STARTED | HOLDING_PLACE | {"DEFERRED", "RETURN_TO_COURT", "BREACH", "DEPRIORITISED",
                                                  "RECALL"})
_COHORT_STATUSES = [CohortStatus(s) for s in sorted(UPCOMING | RUNNING)]


def gather(uow: UnitOfWork, region: str, today: date, now: datetime, rules: EngineRules,
           breach_window_days: int = 365) -> AlertInputs:
    referrals = uow.referral_facts(region, _WATCHED)  # one read-side query, after this transaction's changes
    cohorts = [c for c in uow.cohorts.where(region_code=region, status=_COHORT_STATUSES)
               if c.end_date >= today - timedelta(days=7)]
    by_id = {c.cohort_id: c for c in cohorts}
    members: dict[str, int] = {}
    for r in referrals:
        if r["cohort_id"] and r["status"] in HOLDING_PLACE:
            members[r["cohort_id"]] = members.get(r["cohort_id"], 0) + 1
    # Cohorts that open alerts are about but that left the view (cancelled, completed, long past): the
    # clear reason says what became of them instead of guessing.
    gone = sorted({row["subject_id"] for row in uow.active_alerts(region).values()
                   if row["subject_type"] == "cohort"} - set(by_id))
    former = sorted(uow.cohorts.where(cohort_id=gone), key=lambda c: c.cohort_id) if gone else []
    views = []
    for r in referrals:
        deadline = r["deadline"]
        cohort = by_id.get(r["cohort_id"]) if r["cohort_id"] else None
        fixed = bool(r["pinned"]) or (cohort is not None and pinned_cohort(cohort, today, rules.freeze_days))
        since = r["status_since"]
        views.append(ReferralView(
            referral_id=r["referral_id"], crn=r["crn"], programme_code=r["programme_code"], status=r["status"],
            status_since=since.date() if since else r["referred_on"], pdu_code=r["pdu_code"],
            referred_on=r["referred_on"], deadline=deadline,
            latest_start=latest_start_any(rules.catalogue, r["programme_code"], deadline, rules.deadline_margin_days,
                                          rules.is_holiday) if deadline else None,
            latest_end=deadline - timedelta(days=rules.deadline_margin_days) if deadline else None,
            cohort_id=r["cohort_id"], pinned=fixed, risk_band=r["risk_band"]))
    on_programme = [v.referral_id for v in views if v.status in HOLDING_PLACE | {"BREACH"}]
    since = today - timedelta(days=2 * breach_window_days)
    absences = tuple(AbsenceView(a.referral_id, a.cohort_id, a.session_date, a.outcome)
                     for a in uow.attendance_of(on_programme, outcomes=[UNACCEPTABLE])
                     if a.session_date >= since) if on_programme else ()
    facilitators = tuple(FacilitatorView(f.facilitator_id, f.home_pdu, frozenset(f.programmes), f.weekly_hours,
                                         tuple(f.absences), f.left_on)
                         for f in uow.facilitators.where(region_code=region))
    return AlertInputs(
        region_code=region, today=today, now=now,
        referrals=tuple(sorted(views, key=lambda v: v.referral_id)),
        cohorts=tuple(_cohort_view(c, members.get(c.cohort_id, 0), rules) for c in sorted(
            cohorts, key=lambda c: c.cohort_id)),
        facilitators=tuple(sorted(facilitators, key=lambda f: f.facilitator_id)),
        absences=absences, margin_days=rules.deadline_margin_days,
        programme_loads=programme_loads(rules.catalogue, rules.is_holiday, today),
        place_breaches=tuple(safety.as_dict(f) for f in safety.PlaceAudit(
            uow, rules, safety.region_cohorts(uow, region)).findings()),
        removed_places=safety.removals(uow, region),
        plan_rejection=_json_state(uow, keys.PLAN_REJECTED.key(region)),  # written by the gate
        plan_fallback=_json_state(uow, keys.PLAN_FALLBACK.key(region)),   # written by the plan's publisher
        overrides_set_aside=_json_state(uow, keys.OVERRIDES_SET_ASIDE.key(region)) or {},  # by the plan too
        refused_members=_still_refused(uow, region, by_id, {v.referral_id: v for v in views}),
        former_cohorts=tuple(_cohort_view(c, members.get(c.cohort_id, 0), rules) for c in former))


def _json_state(uow: UnitOfWork, name: str) -> dict | None:
    value = uow.get_state(name)
    return json.loads(value) if value else None


def _still_refused(uow: UnitOfWork, region: str, cohorts: dict, views: dict) -> tuple[dict, ...]:
    out = []
    for cohort_id, members in sorted(refusals(uow, region).items()):
        if cohort_id not in cohorts:
            continue
        for m in members:
            view = views.get(m["referral_id"])
            referral = uow.referrals.get(m["referral_id"]) if view is None and m["rule"] != "unknown" else None
            closed = referral is not None and referral.status.closed  # one who moved away is still news here
            if not closed and not (view is not None and view.cohort_id == cohort_id):
                out.append({**m, "cohort_id": cohort_id})
    return tuple(out)


def dead_letter_inputs(uow: UnitOfWork, now: datetime, today: date) -> AlertInputs:
    """The inputs of the rules that are not about one region (events rejected to dead letters)."""
    return AlertInputs(region_code=ALL_REGIONS, today=today, now=now,
                       dead_letters=tuple(uow.dead_letters_since(now - timedelta(hours=1))))


def _cohort_view(cohort: Cohort, members: int, rules: EngineRules) -> CohortView:
    required, minutes, programme = _programme_facts(rules, cohort.programme_code)
    return CohortView(
        cohort_id=cohort.cohort_id, programme_code=cohort.programme_code, pdu_code=cohort.pdu_code,
        office_code=cohort.office_code, status=str(cohort.status), origin=cohort.origin,
        start_date=cohort.start_date, end_date=cohort.end_date, group_start=cohort.group_start or cohort.start_date,
        min_size=cohort.min_size, max_size=cohort.max_size, members=members,
        facilitator_ids=tuple(cohort.facilitator_ids), facilitators_required=required,
        weekly_hours=weekly_hours(programme, len(cohort.slots)), session_minutes=minutes,
        slots=tuple((s.weekday, s.start, s.period) for s in cohort.slots),
        group_weeks=cohort.group_weeks)


_FACTS: dict[tuple[int, str], tuple] = {}


def _programme_facts(rules: EngineRules, code: str) -> tuple:
    """(facilitators per group, group session minutes, the programme), memoised per catalogue."""
    key = (id(rules.catalogue), code)
    if key not in _FACTS:
        programme = rules.catalogue.get(code)
        group = next((t for t in programme.sessions_in_order if t.is_group), None)
        _FACTS[key] = (programme.facilitators_per_group, group.minutes if group else 150, programme)
    return _FACTS[key]
