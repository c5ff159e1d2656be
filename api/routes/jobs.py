"""Jobs: re-plans, what-ifs and FTE sweeps (PLANNER, ADMIN) are queued and answered 202 with a Location to
``GET /jobs/{job_id}``; a runner started with the app runs them off the event loop (engine/services/jobs.py).
Readers of the job's region may read it; another region's job answers 404."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from api.auth import READERS, Principal, Role, require, visible_region
from api.deps import reader
from api.job_models import Job, ReplanBody, SweepBody, WhatIfBody
from api.models import RegionPath
from api.problems import ApiProblem, Conflict, NotFound, responses
from api.reads import Reader
from engine.services import jobs

router = APIRouter(tags=["jobs"])
planner_role = require(Role.PLANNER, Role.ADMIN)
JobIdPath = Annotated[str, Path(max_length=36, pattern=r"^[0-9a-f-]+$", description="a job id (a UUID)")]
SUBMIT_ERRORS = responses(400, 401, 403, 404, 409, 422, 429)


class TooMany(ApiProblem):
    status, slug, title = 429, "too-many-jobs", "Too many requests"


def planning_region(region: RegionPath, principal: Principal = Depends(planner_role),
                    read: Reader = Depends(reader)) -> tuple[str, Principal]:
    return visible_region(principal, region, read.regions()), principal


def job_view(job: dict[str, Any]) -> Job:
    return Job(region=job["region_code"], **{name: job[name] for name in Job.model_fields if name != "region"})


def queue(request: Request, response: Response, where: tuple[str, Principal], kind: str, body) -> Job:
    region, principal = where
    try:
        job = jobs.submit(request.app.state.jobs, region, kind, body.model_dump(mode="json"), principal.subject)
    except jobs.AlreadyQueued as exc:
        raise Conflict(str(exc), headers={"Location": f"/jobs/{exc.job_id}"}) from None
    except jobs.QueueFull as exc:
        raise TooMany(str(exc), headers={"Retry-After": "30"}) from None
    runner = getattr(request.app.state, "job_runner", None)
    if runner is not None:
        runner.wake()
    response.headers["Location"] = f"/jobs/{job['job_id']}"
    return job_view(job)


@router.post("/regions/{region}/replan", status_code=202, response_model=Job, responses=SUBMIT_ERRORS,
             summary="Queue a re-plan of the region (published as the worker's are); 409 when one is queued already")
def replan(request: Request, response: Response, body: ReplanBody | None = None,
           where: tuple[str, Principal] = Depends(planning_region)) -> Job:
    return queue(request, response, where, jobs.REPLAN, body or ReplanBody())


@router.post("/regions/{region}/what-if", status_code=202, response_model=Job, responses=SUBMIT_ERRORS,
             summary="Queue a what-if: the region re-planned with changed capacity or demand, against the baseline "
                     "(nothing written)")
def what_if(request: Request, response: Response, body: WhatIfBody,
            where: tuple[str, Principal] = Depends(planning_region)) -> Job:
    return queue(request, response, where, jobs.WHATIF, body)


@router.post("/regions/{region}/fte-sweep", status_code=202, response_model=Job, responses=SUBMIT_ERRORS,
             summary="Queue an FTE sweep: the fewest added facilitators that bring misses under a target")
def fte_sweep(request: Request, response: Response, body: SweepBody,
              where: tuple[str, Principal] = Depends(planning_region)) -> Job:
    return queue(request, response, where, jobs.FTE_SWEEP, body)


@router.get("/jobs/{job_id}", response_model=Job, responses=responses(401, 403, 404, 422),
            summary="A job: its status (QUEUED, RUNNING, SUCCEEDED, FAILED), who submitted it and when, and its result "
                    "or error")
def job(job_id: JobIdPath, request: Request, principal: Principal = Depends(require(*READERS))) -> Job:
    found = request.app.state.jobs.get(job_id)
    if found is None or not principal.sees_region(found["region_code"]):
        raise NotFound("job", job_id)
    return job_view(found)
