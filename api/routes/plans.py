"""A region's latest published plan (cohorts with sessions, venue, facilitators, members) and one cohort."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from api.access import Reading, reading
from api.models import Cohort, IdPath, Plan, RegionPath, Session, Slot, Venue
from api.problems import NotFound, responses
from api.reads import Reader
from engine.domain.model import Cohort as CohortEntity

router = APIRouter(tags=["plans"])


def _cohort(read: Reader, cohort: CohortEntity, members: list[str]) -> Cohort:
    return Cohort(cohort_id=cohort.cohort_id, programme_code=cohort.programme_code, status=str(cohort.status),
                  origin=cohort.origin, venue=Venue(office_code=cohort.office_code, pdu_code=cohort.pdu_code),
                  sex=cohort.sex, pathway=cohort.pathway, offence_cohort=cohort.offence_cohort, ldc=cohort.ldc,
                  start_date=cohort.start_date, end_date=cohort.end_date, min_size=cohort.min_size,
                  max_size=cohort.max_size,
                  slots=[Slot(weekday=s.weekday, start=s.start, period=s.period) for s in cohort.slots],
                  sessions=[Session(**s) for s in read.sessions(cohort)],
                  facilitator_ids=list(cohort.facilitator_ids), member_ids=members)


@router.get("/regions/{region}/plan", response_model=Plan, responses=responses(401, 403, 404, 422),
            summary="The latest published plan: objective, bound, gap and the region's current cohorts")
def plan(region: RegionPath, r: Reading = Depends(reading)) -> Plan:
    region_code, read = r.region(region), r.read
    record = read.latest_plan(region_code)
    if record is None:
        raise NotFound("published plan for region", region_code)
    cohorts = read.cohorts(region_code)
    r.audit.record(referral_ids=[m for _, members in cohorts for m in members])
    return Plan(region=region_code, plan_version=record["plan_version"], as_of=record["as_of"],
                allocator=record["allocator"], status=record["status"], assigned=record["assigned"],
                unallocated=record["unallocated"], cohorts_opened=record["cohorts_opened"],
                objective={k: float(v) for k, v in (record["objective"] or {}).items()},
                best_bound=record["best_bound"], gap=record["gap"], note=record["note"] or None,
                cohorts=[_cohort(read, c, m) for c, m in cohorts])


@router.get("/regions/{region}/cohorts/{cohort_id}", response_model=Cohort, responses=responses(401, 403, 404, 422),
            summary="One cohort of the region, whatever its status")
def cohort(region: RegionPath, cohort_id: IdPath, r: Reading = Depends(reading)) -> Cohort:
    region_code, read = r.region(region), r.read
    found = read.cohorts(region_code, cohort_id)
    if not found:
        raise NotFound(f"cohort in region {region_code}", cohort_id)
    r.audit.record(referral_ids=found[0][1])
    return _cohort(read, *found[0])
