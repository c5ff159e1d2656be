"""Read-side building blocks shared by queries that look at a region's referrals."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from engine.persistence import tables as t


def region_referrals(region: str, *columns: Any) -> Select:
    """The referrals of a region's people: referral_id, crn, programme_code, status, referred_on, the
    person's pdu_code, and the two end dates the deadline comes from (requirement_end, sentence_end),
    plus ``columns``. Requirement, sentence and the allocation held are outer-joined, so a referral
    whose sentence is not known yet is there, without a deadline (see :func:`engine.persistence.rows.add_deadline`)."""
    r = t.ReferralRow
    return (select(r.referral_id, r.crn, r.programme_code, r.status, r.referred_on, t.PersonRow.pdu_code,
                   t.RequirementRow.end_date.label("requirement_end"),
                   t.SentenceRow.expected_end_date.label("sentence_end"), *columns)
            .join(t.PersonRow, t.PersonRow.crn == r.crn)
            .outerjoin(t.RequirementRow, t.RequirementRow.requirement_id == r.requirement_id)
            .outerjoin(t.SentenceRow, t.SentenceRow.sentence_id == t.RequirementRow.sentence_id)
            .outerjoin(t.AllocationRow, t.AllocationRow.referral_id == r.referral_id)
            .where(t.PersonRow.region_code == region))

