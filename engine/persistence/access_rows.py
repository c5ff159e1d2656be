"""Rows of person_access and audit_reads as both stores write and read them (no SQLAlchemy here)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from engine.domain.access import LimitedAccess


def access_row(rule: LimitedAccess, updated_at: datetime, event_id: str) -> dict[str, Any]:
    return dict(crn=rule.crn, restricted=rule.restricted, restrictions=sorted(rule.restrictions),
                exclusions=sorted(rule.exclusions), updated_at=updated_at, event_id=event_id)


def access_of(row: dict[str, Any]) -> tuple[LimitedAccess, datetime | None]:
    rule = LimitedAccess(row["crn"], bool(row["restricted"]), frozenset(row["restrictions"] or ()),
                         frozenset(row["exclusions"] or ()))
    return rule, row["updated_at"]


def names(read: dict[str, Any], crn: str, referral_ids: Iterable[str]) -> bool:
    """Whether an audited read showed ``crn`` or one of ``referral_ids``."""
    return crn in (read["crns"] or ()) or bool(set(referral_ids) & set(read["referral_ids"] or ()))
