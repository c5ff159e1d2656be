"""A region's weekly planner reports: the list, one report's numbers, its HTML and its CSV tables.

Served from the files ``cohortplan report`` (or the worker) wrote to the output directory this API sees.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from api.deps import reader, region
from api.models import AsOf, Page, Paging, Report, ReportTable, TablePath
from api.problems import NotFound, responses
from api.reads import Reader

router = APIRouter(tags=["reports"])
PREFIX = "/regions/{region}/reports"


def _report(region_code: str, numbers: dict[str, Any]) -> Report:
    base = f"/regions/{region_code}/reports/{numbers['as_of']}"
    stem = f"weekly-{numbers['as_of']}-"
    tables = [ReportTable(name=name.removeprefix(stem).removesuffix(".csv"),
                          csv_url=f"{base}/tables/{name.removeprefix(stem)}") for name in numbers.get("csv", [])]
    return Report(report_id=numbers["report_id"], as_of=numbers["as_of"], period_start=numbers["period_start"],
                  previous_as_of=numbers.get("previous_as_of"), headline=numbers.get("headline", {}),
                  html_url=f"{base}/report.html", tables=tables)


def _numbers(read: Reader, region_code: str, as_of: date) -> dict[str, Any]:
    found = next((n for n in read.reports(region_code) if n["as_of"] == as_of.isoformat()), None)
    if found is None:
        raise NotFound(f"report of region {region_code} as of", as_of.isoformat(),
                       [n["as_of"] for n in read.reports(region_code)])
    return found


@router.get(PREFIX, response_model=Page[Report], responses=responses(401, 403, 404, 422),
            summary="The region's weekly reports, newest first")
def reports(query: Annotated[Paging, Query()], region_code: str = Depends(region),
            read: Reader = Depends(reader)) -> Page[Report]:
    found = read.reports(region_code)
    items = [_report(region_code, n) for n in found[query.offset:query.offset + query.limit]]
    return Page[Report](items=items, total=len(found), limit=query.limit, offset=query.offset)


@router.get(PREFIX + "/{as_of}", response_model=Report, responses=responses(401, 403, 404, 422),
            summary="One weekly report: headline numbers and where its HTML and tables are")
def report(as_of: AsOf, region_code: str = Depends(region), read: Reader = Depends(reader)) -> Report:
    return _report(region_code, _numbers(read, region_code, as_of))


@router.get(PREFIX + "/{as_of}/report.html", response_class=FileResponse, responses={
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The report, self-contained"},
    **responses(401, 403, 404, 422)}, summary="The report as one self-contained HTML page")
def report_html(as_of: AsOf, region_code: str = Depends(region), read: Reader = Depends(reader)) -> FileResponse:
    path = read.report_file(region_code, _numbers(read, region_code, as_of)["html"])
    if path is None:
        raise NotFound(f"HTML file of the report of region {region_code} as of", as_of.isoformat())
    return FileResponse(path, media_type="text/html")


@router.get(PREFIX + "/{as_of}/tables/{table}.csv", response_class=FileResponse, responses={
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "One table of the report"},
    **responses(401, 403, 404, 422)}, summary="One table of the report as CSV (the same numbers as the HTML)")
def report_table(as_of: AsOf, table: TablePath, region_code: str = Depends(region),
                 read: Reader = Depends(reader)) -> FileResponse:
    numbers = _numbers(read, region_code, as_of)
    names = {t.name: t for t in _report(region_code, numbers).tables}
    path = read.report_file(region_code, f"weekly-{as_of.isoformat()}-{table}.csv") if table in names else None
    if path is None:
        raise NotFound(f"table of the report of region {region_code} as of {as_of}", table, names)
    return FileResponse(path, media_type="text/csv")
