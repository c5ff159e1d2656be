"""Why a referral has the place it has, or none: what ``cohortplan explain`` prints and the API returns.

Two parts. :func:`place_notes` reads the state (no solver): what the safety rules say about each held
place now (kept and flagged, or to be moved), places removed for a broken rule, and delivery-team
confirmations that could not place the person. :func:`plan_reason` words the plan's own reason for one
referral, from a plan (a dry run the CLI solves, or the place the published plan gave).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from engine import state_keys as keys
from engine.domain.deadlines import latest_starts
from engine.domain.placement import ACTION
from engine.domain.rules import EngineRules
from engine.handlers.confirmations import refusals
from engine.ports import UnitOfWork
from engine.services.safety import PlaceAudit, removals
from engine.services.overrides import notes_for
from solver import schema as s

NOT_PLANNED = "not planned (not waiting, or its deadline has passed, or not ready within the horizon)"
FIXED = "holds a fixed place on {cohort} (started, frozen, or placed by the delivery team)"


def place_notes(uow_factory: Callable[[], UnitOfWork], rules: EngineRules, region: str,
                referrals: Iterable[dict]) -> dict[str, list[str]]:
    """Per referral id (of ``referrals``, rows of ``Queries.person``), the notes on its place now."""
    referrals = list(referrals)
    held = sorted({r["allocation"]["cohort_id"] for r in referrals if r.get("allocation")})
    ids = {r["referral_id"] for r in referrals}
    out: dict[str, list[str]] = {}
    with uow_factory() as uow:
        for f in PlaceAudit(uow, rules, held).findings(lambda r: r.referral_id in ids) if held else []:
            kept = "kept (placed by the delivery team or running): " + ACTION[f.breach.rule] \
                if f.remedy == "FLAG" else "the next plan moves them"
            out.setdefault(f.breach.referral_id, []).append(f"breaks {f.breach.rule}: {f.breach.detail} — {kept}")
        for rid, record in removals(uow, region).items():
            if rid in ids:
                out.setdefault(rid, []).append(f"place on {record['cohort_id']} removed: {record['detail']}")
        planned = uow.get_state(keys.LAST_PLANNED.key(region))
        for rid, texts in notes_for(uow, region, ids, date.fromisoformat(planned) if planned else date.today()).items():
            out.setdefault(rid, []).extend(texts)
        for cohort_id, members in sorted(refusals(uow, region).items()):
            for m in members:
                if m["referral_id"] in ids:
                    out.setdefault(m["referral_id"], []).append(
                        f"confirmed by the delivery team on {cohort_id} but holds no place there: {m['rule']}: "
                        f"{m['detail']} — correct the membership or the record")
    return out


def plan_reason(referral_id: str, pinned: Iterable[str], plan: s.Plan, held_cohort: str | None) -> str:
    """The plan's words for one referral: a fixed place, the place it chose and why, or why none."""
    if referral_id in set(pinned):
        return FIXED.format(cohort=held_cohort or "?")
    chosen = next((a for a in plan.assignments if a.referral_id == referral_id), None)
    if chosen is not None:
        return chosen.reason
    missing = next((u for u in plan.unallocated if u.referral_id == referral_id), None)
    if missing is not None:
        return f"no place: {missing.reason.value}: {missing.detail}"
    return NOT_PLANNED


def published_reason(referral: dict) -> str:
    """The published plan's words for one referral (a row of ``Queries.person``), read from the state: the
    reason its place was given, or — without a place — the last plan's reason for taking it away. Why a
    plan found no place for someone it never placed is not stored: ``cohortplan explain`` re-derives it."""
    allocation = referral.get("allocation")
    if allocation:
        return FIXED.format(cohort=allocation["cohort_id"]) if allocation["pinned"] else allocation["reason"]
    last = (referral.get("history") or [None])[-1]
    if last and last["to_status"] == referral["status"] and str(last["reason"]).startswith("plan "):
        return f"no place: {last['reason']}"
    return "no place in the published plan (`cohortplan explain <crn>` re-derives the plan's reason)"


def latest_starts_of(rules: EngineRules, margin_days: int, referral: dict) -> dict[str, date | None]:
    """Per usual weekly pattern, the last start that still finishes before the referral's deadline (a row of
    ``Queries.person``: ISO dates), counted from when it is ready; empty without a deadline."""
    if referral.get("deadline") is None or referral["programme_code"] not in rules.catalogue:
        return {}
    earliest = date.fromisoformat(referral.get("ready_from") or referral["referred_on"])
    return latest_starts(rules.catalogue, referral["programme_code"], date.fromisoformat(referral["deadline"]),
                         margin_days, earliest, rules.is_holiday)
