"""Write the weekly planner report for a region and publish ``report.published`` once per region and date.

Files, under ``<out>/reports/<region>/``:
- ``weekly-<as_of>.html``: the report, self-contained;
- ``weekly-<as_of>-<table>.csv``: one per table, the same numbers as the HTML tables;
- ``weekly-<as_of>.json``: the headline numbers, which next week's report compares against.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from engine import state_keys as keys
from engine.events import outbound as o
from engine.domain.rules import EngineRules
from engine.outbox import emit, stable_id
from engine.persistence.database import Database
from engine.persistence.report_queries import report_queries
from engine.reports.build import KIND, Report, build_report
from engine.reports.data import load_report_data
from engine.reports.render import render_html
from engine.reports.tables import write_csv

STEPS = 4  # read, compute and draw, write, publish: for progress bars


class UnknownRegion(LookupError):
    def __init__(self, region: str, known: list[str]) -> None:
        self.region, self.known = region, known
        super().__init__(f"unknown region {region!r}; known regions: {', '.join(known) or 'none (replay events first)'}")


@dataclass(frozen=True)
class Published:
    report: Report
    html: Path
    numbers: Path
    csvs: tuple[Path, ...]
    published: bool  # report.published went to the outbox now (False: it already had for this region and date)


def report_dir(out_dir: Path, region: str) -> Path:
    return Path(out_dir) / "reports" / region


def done_key(region: str, as_of: date) -> str:
    return keys.REPORT_DONE.key(region, as_of.isoformat())


def known_regions(database: Database) -> list[str]:
    q = report_queries(database)
    try:
        return q.known_regions()
    finally:
        q.close()


def already_published(database: Database, region: str, as_of: date) -> bool:
    with database.uow() as uow:
        return uow.get_state(done_key(region, as_of)) is not None


def publish_weekly_report(database: Database, rules: EngineRules, region: str, as_of: date, out_dir: Path,
                          progress: Callable[..., None] | None = None, now: datetime | None = None) -> Published:
    """Read, compute, write the files, then emit ``report.published`` (unless already done for this date).

    Raises :class:`UnknownRegion` naming the known regions when ``region`` has no data.
    """
    step = progress or (lambda n=1, total=None: None)
    now = now or datetime.now(timezone.utc)
    q = report_queries(database)
    try:
        known = q.known_regions()
        if region not in known:
            raise UnknownRegion(region, known)
        data = load_report_data(q, region, as_of, rules)
    finally:
        q.close()
    step()
    directory = report_dir(out_dir, region)
    previous = previous_numbers(directory, as_of)
    report = build_report(data, now, previous)
    step()
    html, numbers, csvs = write_report(report, directory, previous)
    step()
    published = _emit(database, report, html, now)
    step()
    return Published(report, html, numbers, csvs, published)


def previous_numbers(directory: Path, as_of: date) -> dict[str, Any] | None:
    """The headline numbers of the latest report in ``directory`` dated before ``as_of``, if any."""
    earlier = []
    for path in directory.glob("weekly-*.json") if directory.is_dir() else ():
        try:
            day = date.fromisoformat(path.stem.removeprefix("weekly-"))
        except ValueError:
            continue
        if day < as_of:
            earlier.append((day, path))
    if not earlier:
        return None
    numbers = json.loads(max(earlier)[1].read_text(encoding="utf-8"))
    return numbers if isinstance(numbers, dict) and "headline" in numbers else None


def write_report(report: Report, directory: Path, previous: dict[str, Any] | None) -> tuple[Path, Path, tuple[Path, ...]]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"weekly-{report.as_of.isoformat()}"
    names = {t.name: f"{stem}-{t.name}.csv" for t in report.tables}
    csvs = tuple(write_csv(t, directory / names[t.name]) for t in report.tables)
    html = directory / f"{stem}.html"
    html.write_text(render_html(report, previous, names), encoding="utf-8")
    numbers = directory / f"{stem}.json"
    numbers.write_text(json.dumps({**report.numbers(), "html": html.name, "csv": sorted(names.values())},
                                  indent=2, default=str) + "\n", encoding="utf-8")
    return html, numbers, csvs


def _emit(database: Database, report: Report, html: Path, now: datetime) -> bool:
    done = done_key(report.region, report.as_of)
    with database.uow() as uow:
        uow.lock_writes()
        if uow.get_state(done):
            return False
        emit(uow, "report.published", report.region, o.ReportPublished(
            report_id=report.report_id, kind=KIND, period_start=report.period_start, period_end=report.as_of,
            location=str(html)), now, stable_id("report", "weekly", report.region, report.as_of))
        uow.set_state(done, now.isoformat())
        uow.commit()
    return True
