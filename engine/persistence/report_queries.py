"""Read side of the weekly planner report: a handful of set-based queries returning plain rows.

Each query reads one region in one statement (no per-row look-ups), so a report on a two-year region
takes a few queries whatever its size. Rows are dicts of plain values; ids and codes only, no names.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, null, select, union
from sqlalchemy.orm import Session

from engine.persistence import tables as t
from engine.persistence.joins import region_referrals
from engine.persistence.rows import add_deadline
from engine.persistence.database import Database


class ReportQueries:
    def __init__(self, session: Session) -> None:
        self.s = session

    def close(self) -> None:
        self.s.close()

    def known_regions(self) -> list[str]:
        """Region codes that have people, cohorts, facilitators or offices."""
        codes = union(select(t.PersonRow.region_code), select(t.CohortRow.region_code),
                      select(t.FacilitatorRow.region_code), select(t.OfficeRow.region_code))
        return sorted(code for (code,) in self.s.execute(codes) if code)

    def referrals(self, region: str) -> list[dict[str, Any]]:
        """Every referral of the region's people with the person's PDU and equity fields, the deadline, the
        requirement's status, and the cohort of the place they hold (if any)."""
        stmt = (region_referrals(region, t.ReferralRow.ready_from, t.PersonRow.sex, t.PersonRow.ethnicity_group,
                                 t.PersonRow.ldc, t.RequirementRow.status.label("requirement_status"),
                                 t.AllocationRow.cohort_id,
                                 t.CohortRow.start_date.label("cohort_start"), t.CohortRow.end_date.label("cohort_end"))
                .outerjoin(t.CohortRow, t.CohortRow.cohort_id == t.AllocationRow.cohort_id)
                .order_by(t.ReferralRow.referral_id))
        return [add_deadline(dict(r)) for r in self.s.execute(stmt).mappings()]

    def waiting(self, region: str, status: str) -> list[dict[str, Any]]:
        """The referrals of :meth:`referrals` in ``status`` that hold no place (the waiting list's rows), in one
        statement that reads only those: the API's waiting list on a two-year region reads ~700 of ~8,000."""
        stmt = (region_referrals(region, t.ReferralRow.ready_from, t.PersonRow.sex, t.PersonRow.ethnicity_group,
                                 t.PersonRow.ldc, t.RequirementRow.status.label("requirement_status"),
                                 t.AllocationRow.cohort_id, null().label("cohort_start"), null().label("cohort_end"))
                .where(t.ReferralRow.status == status, t.AllocationRow.referral_id.is_(None))
                .order_by(t.ReferralRow.referral_id))
        return [add_deadline(dict(r)) for r in self.s.execute(stmt).mappings()]

    def first_on_programme(self, region: str) -> dict[str, date]:
        """Per referral of the region, the date it first moved to On programme (status history)."""
        stmt = (select(t.ReferralHistoryRow.referral_id, func.min(t.ReferralHistoryRow.at))
                .join(t.ReferralRow, t.ReferralRow.referral_id == t.ReferralHistoryRow.referral_id)
                .join(t.PersonRow, t.PersonRow.crn == t.ReferralRow.crn)
                .where(t.ReferralHistoryRow.to_status == "ON_PROGRAMME", t.PersonRow.region_code == region)
                .group_by(t.ReferralHistoryRow.referral_id))
        return {rid: _day(at) for rid, at in self.s.execute(stmt)}

    def cohorts(self, region: str) -> list[dict[str, Any]]:
        """Every cohort of the region with its current number of members (places held)."""
        members = (select(t.AllocationRow.cohort_id, func.count().label("members"))
                   .group_by(t.AllocationRow.cohort_id).subquery())
        stmt = (select(t.CohortRow.cohort_id, t.CohortRow.programme_code, t.CohortRow.office_code,
                       t.CohortRow.pdu_code, t.CohortRow.slots, t.CohortRow.start_date, t.CohortRow.end_date,
                       t.CohortRow.group_weeks, t.CohortRow.group_start, t.CohortRow.min_size,
                       t.CohortRow.max_size, t.CohortRow.status, t.CohortRow.origin, t.CohortRow.facilitator_ids,
                       func.coalesce(members.c.members, 0).label("members"))
                .outerjoin(members, members.c.cohort_id == t.CohortRow.cohort_id)
                .where(t.CohortRow.region_code == region)
                .order_by(t.CohortRow.cohort_id))
        return [dict(r) for r in self.s.execute(stmt).mappings()]

    def plans(self, region: str) -> list[dict[str, Any]]:
        """The region's published plans: version, date planned as of, allocator and status (FALLBACK: current
        practice's plan, published because the solve fell back)."""
        stmt = (select(t.PlanRow.plan_version, t.PlanRow.as_of, t.PlanRow.allocator, t.PlanRow.status)
                .where(t.PlanRow.region_code == region).order_by(t.PlanRow.plan_version))
        return [dict(r) for r in self.s.execute(stmt).mappings()]

    def alerts(self, region: str) -> list[dict[str, Any]]:
        """The region's open alerts: id, kind and workflow state (None: never acted on, OPEN)."""
        a = t.ActiveAlertRow
        stmt = select(a.alert_id, a.kind, a.workflow_state).where(a.region_code == region).order_by(a.alert_id)
        return [dict(r) for r in self.s.execute(stmt).mappings()]

    def facilitators(self, region: str) -> list[dict[str, Any]]:
        stmt = (select(t.FacilitatorRow.facilitator_id, t.FacilitatorRow.home_pdu, t.FacilitatorRow.programmes,
                       t.FacilitatorRow.weekly_hours, t.FacilitatorRow.absences, t.FacilitatorRow.left_on)
                .where(t.FacilitatorRow.region_code == region).order_by(t.FacilitatorRow.facilitator_id))
        return [dict(r) for r in self.s.execute(stmt).mappings()]


def report_queries(db: Database) -> ReportQueries:
    return ReportQueries(db._sessions())


def _day(value: datetime | date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
