"""Planner overrides: add and remove (one transaction each, the event in the outbox), list, and what a plan reads.

A planner keeps a referral on a cohort, rules a cohort out for it (never), holds it out of planning until a
date, or locks a cohort's membership (nobody joins or leaves). Each is stored (``planner_overrides``), written
to the outbox as ``override.added`` / ``override.removed`` (on the allocations topic, keyed by region) and
marks the region for a re-plan. An override that contradicts one in force, or a keep that would break a rule
of the place now (programme, pathway, offence cohort, LDC, sex, non-association, availability, office,
region, deadline; a finished or cancelled cohort), is refused (:class:`Conflict`, the API's 409). One that
becomes unsafe later (a non-association arrives) is set aside by the plan, never honoured and never silently
dropped (solver/overrides.py; the plan's note, :func:`record_set_aside`, and the explanations say so).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from engine import state_keys as keys
from engine.domain.model import CohortStatus, Referral
from engine.domain.placement import Member, place_breaches
from engine.domain.rules import EngineRules
from engine.domain.statuses import ReferralStatus as S
from engine.events import outbound as o
from engine.outbox import emit, stable_id
from engine.ports import UnitOfWork
from solver import schema as s
from solver.overrides import in_words

KINDS = tuple(k.value for k in s.OverrideKind)
NEEDS = {"keep": ("referral_id", "cohort_id"), "never": ("referral_id", "cohort_id"), "hold": ("referral_id", "until"),
         "lock": ("cohort_id",)}
MAX_HOLD_DAYS = 730  # a hold ends at the latest two years after the region's date
FINISHED = (CohortStatus.COMPLETED, CohortStatus.CANCELLED)


class OverrideError(Exception):
    """An override that cannot be added or removed; the message says why."""


class NotFound(OverrideError):
    """No such override, referral or cohort in the region (another region's is not found either)."""

    def __init__(self, what: str, value: str, region: str) -> None:
        super().__init__(f"no {what} {value} in region {region}")
        self.what, self.value = what, value


class Conflict(OverrideError):
    """It contradicts an override in force, or honouring it would break a rule now (the API's 409)."""


class Invalid(OverrideError):
    """A value the request got wrong (the API's 422); ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Request:
    kind: str
    reason: str
    referral_id: str | None = None
    cohort_id: str | None = None
    until: date | None = None


def check_shape(request: Request, today: date) -> None:
    """Each kind names what it needs and nothing else; a hold ends after ``today``, within MAX_HOLD_DAYS."""
    needed = NEEDS[request.kind]
    for name in ("referral_id", "cohort_id", "until"):
        given = getattr(request, name) is not None
        if name in needed and not given:
            raise Invalid(name, f"required for a {request.kind} override")
        if name not in needed and given:
            raise Invalid(name, f"not used by a {request.kind} override")
    if request.until is not None and not today < request.until <= today + timedelta(days=MAX_HOLD_DAYS):
        raise Invalid("until", f"{request.until} is not after {today} and within {MAX_HOLD_DAYS} days of it")


def add(uow: UnitOfWork, rules: EngineRules, region: str, request: Request, actor: str, today: date,
        at: datetime) -> dict:
    """Add an override in ``uow`` (the caller commits); the stored row."""
    check_shape(request, today)
    referral = _referral(uow, region, request.referral_id) if request.referral_id else None
    cohort = _cohort(uow, region, request.cohort_id) if request.cohort_id else None
    if cohort is not None and cohort.status in FINISHED:
        raise Conflict(f"cohort {cohort.cohort_id} is {cohort.status.value.lower()}: nothing left to plan on it")
    if referral is not None and S(referral.status).closed:
        raise Conflict(f"referral {referral.referral_id} is {referral.status}: it is no longer planned")
    in_force = active(uow.overrides(region), today)
    clash = next((why for row in in_force if (why := contradiction(request, row))), None)
    if clash:
        raise Conflict(clash)
    _check_fixed_place(uow, request, referral)
    if request.kind == "keep":
        _check_keep(uow, rules, region, referral, cohort, in_force)
    override_id = f"ov-{len(uow.overrides(None, removed=True)) + 1:06d}"
    message_id = stable_id("override", override_id, "added")
    row = dict(override_id=override_id, region_code=region, kind=request.kind, referral_id=request.referral_id,
               cohort_id=request.cohort_id, until=request.until, reason=request.reason, created_by=actor,
               created_at=at, event_id=str(message_id), removed_by=None, removed_at=None)
    uow.add_override(row)
    _emit(uow, "override.added", o.OverrideAdded, row, actor, referral.crn if referral else None, at, message_id)
    _changed(uow, region)
    return row


def remove(uow: UnitOfWork, region: str, override_id: str, actor: str, at: datetime) -> dict:
    """Remove an override in ``uow`` (the caller commits); the row as it was."""
    row = next((r for r in uow.overrides(region) if r["override_id"] == override_id), None)
    if row is None:
        raise NotFound("override", override_id, region)
    uow.remove_override(override_id, actor, at)
    referral = uow.referrals.get(row["referral_id"]) if row["referral_id"] else None
    _emit(uow, "override.removed", o.OverrideRemoved, row, actor, referral.crn if referral else None, at,
          stable_id("override", override_id, "removed"))
    _changed(uow, region)
    return row


def _changed(uow: UnitOfWork, region: str) -> None:
    """An override of the region was added or removed: it is planned again (engine.services.ingest.mark_dirty), and
    the API serves no answer about it from before (the ``asked:`` mark)."""
    uow.bump_state(keys.DIRTY.key(region))
    uow.bump_state(keys.ASKED.key(region))


def in_transaction(uow_factory, fn, *args):
    """``fn(uow, *args)`` in its own transaction, serialised with plans by the write lock."""
    with uow_factory() as uow:
        uow.lock_writes()
        result = fn(uow, *args)
        uow.commit()
    return result


def active(rows: Iterable[dict], as_of: date) -> list[dict]:
    """Rows not removed whose hold (if any) has not ended by ``as_of``: a hold expires on its date."""
    return [r for r in rows if r.get("removed_at") is None and not (r["kind"] == "hold" and r["until"] <= as_of)]


def to_solver(row: dict) -> s.Override:
    return s.Override(row["override_id"], s.OverrideKind(row["kind"]), row["referral_id"], row["cohort_id"],
                      row["until"])


def contradiction(request: Request, row: dict) -> str | None:
    """Why ``request`` contradicts the override ``row`` in force, or None."""
    ov = f"override {row['override_id']}"
    same_referral = request.referral_id is not None and request.referral_id == row["referral_id"]
    same_pair = same_referral and request.cohort_id == row["cohort_id"]
    kinds = {request.kind, row["kind"]}
    if request.kind == row["kind"] and (same_pair if request.kind in ("keep", "never") else
                                        same_referral if request.kind == "hold" else
                                        request.cohort_id == row["cohort_id"]):
        return f"{ov} already says so ({in_words(to_solver(row))})"
    if kinds == {"keep", "never"} and same_pair:
        return f"{ov} says the opposite ({in_words(to_solver(row))})"
    if request.kind == row["kind"] == "keep" and same_referral:
        return f"{ov} keeps referral {request.referral_id} on {row['cohort_id']}: one cohort per referral"
    if kinds == {"keep", "hold"} and same_referral:
        return f"{ov}: {in_words(to_solver(row))}"
    if request.kind == "keep" and row["kind"] == "lock" and request.cohort_id == row["cohort_id"]:
        return f"cohort {row['cohort_id']} is locked by {ov}: nobody joins"
    if request.kind == "lock" and row["kind"] == "keep" and request.cohort_id == row["cohort_id"]:
        return f"{ov} keeps referral {row['referral_id']} on {row['cohort_id']}: remove it before locking the cohort"
    return None


def _referral(uow: UnitOfWork, region: str, referral_id: str) -> Referral:
    referral = uow.referrals.get(referral_id)
    person = uow.people.get(referral.crn) if referral is not None else None
    if referral is None or person is None or person.region_code != region:
        raise NotFound("referral", referral_id, region)
    return referral


def _cohort(uow: UnitOfWork, region: str, cohort_id: str):
    cohort = uow.cohorts.get(cohort_id)
    if cohort is None or cohort.region_code != region:
        raise NotFound("cohort", cohort_id, region)
    return cohort


def _check_fixed_place(uow: UnitOfWork, request: Request, referral: Referral | None) -> None:
    """A place people fixed (started, frozen, the delivery team's) is not the plan's to move or take away."""
    if referral is None or referral.cohort_id is None:
        return
    allocation = uow.allocations.get(referral.referral_id)
    fixed = referral.status == S.ON_PROGRAMME or (allocation is not None and allocation.pinned)
    moves = request.kind == "hold" or (request.kind == "keep" and request.cohort_id != referral.cohort_id) or (
        request.kind == "never" and request.cohort_id == referral.cohort_id)
    if fixed and moves:
        raise Conflict(f"referral {referral.referral_id} holds a fixed place on {referral.cohort_id} (started, "
                       f"frozen, or placed by the delivery team): an override cannot move it")


def _check_keep(uow: UnitOfWork, rules: EngineRules, region: str, referral: Referral, cohort, in_force) -> None:
    """A keep must be a place every rule allows now, on a cohort still taking people."""
    from engine.services.problem import deadlines_of

    if cohort.status == CohortStatus.STARTED and referral.cohort_id != cohort.cohort_id:
        raise Conflict(f"cohort {cohort.cohort_id} has started: nobody new joins")
    held = next((r for r in in_force if r["kind"] == "lock" and r["cohort_id"] == referral.cohort_id
                 and referral.cohort_id != cohort.cohort_id), None)
    if held is not None:
        raise Conflict(f"referral {referral.referral_id} holds a place on {referral.cohort_id}, locked by override "
                       f"{held['override_id']}: nobody leaves")
    deadline = deadlines_of(uow, [referral]).get(referral.referral_id)
    latest = deadline - timedelta(days=rules.deadline_margin_days) if deadline else None
    members = [r for r in uow.referrals.where(cohort_id=cohort.cohort_id) if r.referral_id != referral.referral_id
               and r.status in (S.SCHEDULED, S.ON_PROGRAMME)]
    people = {p.crn: p for p in uow.people.where(crn=sorted({m.crn for m in members}))} if members else {}
    others = [Member(m.referral_id, m.crn, people[m.crn].non_associations if m.crn in people else frozenset())
              for m in members]
    breaches = place_breaches(referral, uow.people.get(referral.crn), cohort, latest, others)
    if breaches:
        raise Conflict(f"keeping referral {referral.referral_id} on {cohort.cohort_id} breaks "
                       + "; ".join(f"{b.rule.value}: {b.detail}" for b in breaches))


def _emit(uow: UnitOfWork, event_type: str, model, row: dict, actor: str, crn: str | None, at: datetime,
          message_id) -> None:
    payload = model(override_id=row["override_id"], region_code=row["region_code"], kind=row["kind"],
                    referral_id=row["referral_id"], crn=crn, cohort_id=row["cohort_id"], until=row["until"],
                    actor=actor, reason=row["reason"])
    emit(uow, event_type, row["region_code"], payload, at, message_id)


# ---- what plans read and leave ------------------------------------------------------------------------

def record_set_aside(uow: UnitOfWork, region: str, set_aside: Iterable) -> None:
    """Keep the overrides the last plan set aside (solver.overrides.SetAside), for the list and explanations."""
    found: dict[str, list[str]] = {}
    for item in set_aside:
        found.setdefault(item.override.override_id, []).append(item.why)
    name = keys.OVERRIDES_SET_ASIDE.key(region)
    if found or uow.get_state(name):  # nothing stored for a region that never had one set aside
        uow.set_state(name, json.dumps(found, sort_keys=True) if found else "")


def set_aside(uow: UnitOfWork, region: str) -> dict[str, list[str]]:
    """Override id → why the last plan set it aside."""
    value = uow.get_state(keys.OVERRIDES_SET_ASIDE.key(region))
    return json.loads(value) if value else {}


def notes_for(uow: UnitOfWork, region: str, referral_ids: Iterable[str], today: date) -> dict[str, list[str]]:
    """Per referral id, the overrides in force naming it (or its cohort's lock), in the explanation's words."""
    wanted = set(referral_ids)
    aside = set_aside(uow, region)
    out: dict[str, list[str]] = {}
    for row in active(uow.overrides(region), today):
        if row["referral_id"] in wanted:
            why = aside.get(row["override_id"])
            text = in_words(to_solver(row)) + (f" — set aside by the last plan: {'; '.join(why)}" if why else "")
            out.setdefault(row["referral_id"], []).append(text)
    return out


def with_overrides(uow: UnitOfWork, region: str, as_of: date, demands: list[s.Demand],
                   options: list[s.CohortOption]) -> tuple[list[s.Demand], list[s.CohortOption]]:
    """The demands and cohorts of a plan as of ``as_of`` carrying the overrides in force that name them."""
    rows = [to_solver(r) for r in active(uow.overrides(region), as_of)]
    if not rows:
        return demands, options
    named: dict[str, list[s.Override]] = {}
    locks: dict[str, list[s.Override]] = {}
    for ov in rows:
        if ov.kind == s.OverrideKind.LOCK:
            locks.setdefault(ov.cohort_id, []).append(ov)
        else:
            named.setdefault(ov.referral_id, []).append(ov)
    return ([replace(d, overrides=tuple(named[d.referral_id])) if d.referral_id in named else d for d in demands],
            [replace(c, overrides=tuple(locks[c.cohort_id])) if c.cohort_id in locks else c for c in options])
