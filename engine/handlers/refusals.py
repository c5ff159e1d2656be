"""Members of a delivery-team confirmation that cohortplan could not honour, kept for the alert.

Engine state, one record per cohort (``refused:<region>:<cohort>``): the latest confirmation of the
cohort replaces it. A refusal is news until the member holds a place on that cohort, the referral
closes, or the cohort is no longer open; the ``confirmation.member_refused`` alert reads it.
"""
from __future__ import annotations

import json
import weakref

from engine.domain.model import Cohort
from engine.ports import UnitOfWork

REFUSED = "refused:"


_READ: "weakref.WeakKeyDictionary[UnitOfWork, dict[str, str]]" = weakref.WeakKeyDictionary()


def _records(uow: UnitOfWork) -> dict[str, str]:
    """Every refusal record, read once per unit of work (assessments ask on every referral)."""
    if uow not in _READ:
        _READ[uow] = uow.states(REFUSED)
    return _READ[uow]


def record_refusals(uow: UnitOfWork, cohort: Cohort, refused: list[dict]) -> None:
    name = f"{REFUSED}{cohort.region_code}:{cohort.cohort_id}"
    records = _records(uow)
    if refused or records.get(name):
        records[name] = json.dumps(refused) if refused else ""
        uow.set_state(name, records[name])


def refusals(uow: UnitOfWork, region: str) -> dict[str, list[dict]]:
    """Cohort id → the members its latest confirmation could not place."""
    prefix = f"{REFUSED}{region}:"
    return {name.removeprefix(prefix): json.loads(value) for name, value in _records(uow).items()
            if name.startswith(prefix) and value}


def refusals_of(uow: UnitOfWork, referral_id: str) -> list[tuple[str, list[dict]]]:
    """(cohort id, that cohort's refusals) for every confirmation that could not place this referral because
    it was unknown or not on the waiting list then."""
    out = []
    for name, value in sorted(_records(uow).items()):
        members = json.loads(value) if value else []
        if any(m["referral_id"] == referral_id and m["rule"] in ("unknown", "status") for m in members):
            out.append((name.split(":", 2)[2], members))  # refused:<region>:<cohort id>
    return out
