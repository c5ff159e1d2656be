"""The written report: one self-contained HTML page whose tables show exactly the CSVs' numbers."""
from __future__ import annotations

import csv
from dataclasses import replace
import json
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from engine.reports.build import HEADLINE, build_report
from engine.reports.publish import previous_numbers, write_report
from tests.unit.reports.factories import AS_OF, make_cohort, make_data, make_facilitator, make_referral, placed

W = timedelta(weeks=1)
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)
CHARTS = {"waiting", "wait-trend", "forecast", "capacity", "capacity-by-programme", "cohort-fill", "utilisation",
          "equity", "started-in-time"}


class Page(HTMLParser):
    """Tables (by data-table) as lists of cell texts, chart figures, and every URL the page refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.charts: dict[str, int] = {}
        self.urls: list[str] = []
        self._table = self._row = self._cell = None
        self._figure = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v]
        if tag == "table":
            self._table = self.tables.setdefault(a["data-table"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "figure":
            self._figure = a.get("data-chart")
            self.charts[self._figure] = 0
        elif tag == "svg" and self._figure:
            self.charts[self._figure] += 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "figure":
            self._figure = None


@pytest.fixture(scope="module")
def data():
    referrals = [make_referral(n, pdu_code=f"P{n % 3}", sex="FEMALE" if n % 5 == 0 else "MALE",
                               latest_start=AS_OF + (n % 12) * W, deadline=AS_OF + (n % 40 + 3) * W)
                 for n in range(1, 40)]
    referrals += [placed(n, start=AS_OF - (n % 20) * W, referred_on=AS_OF - (n % 20 + n % 15 + 1) * W)
                  for n in range(40, 80)]
    referrals += [placed(n, start=AS_OF + (n % 9 + 1) * W) for n in range(80, 95)]
    cohorts = [make_cohort("C1"), make_cohort("C2", origin="PLAN", members=3),
               make_cohort("C3", status="STARTED", start_date=AS_OF - 4 * W, group_start=AS_OF - 3 * W)]
    return make_data(referrals, cohorts, [make_facilitator("F1"), make_facilitator("F2", weekly_hours=20.0)])


@pytest.fixture(scope="module")
def written(data, tmp_path_factory):
    directory = tmp_path_factory.mktemp("report")
    report = build_report(data, NOW)
    html, numbers, csvs = write_report(report, directory, None)
    page = Page()
    page.feed(html.read_text(encoding="utf-8"))
    return report, html, numbers, csvs, page


def test_every_table_in_the_page_shows_the_same_cells_as_its_csv(written):
    report, html, _, csvs, page = written
    assert len(csvs) == len(report.tables) == len(page.tables)
    for table in report.tables:
        path = html.parent / f"weekly-{AS_OF.isoformat()}-{table.name}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        assert header == table.header()
        shown = page.tables[table.name][1:]  # after the header row
        assert shown == (rows or [["none"]]), table.name


def test_every_chart_placeholder_holds_one_labelled_svg(written):
    report, html, *_, page = written
    assert page.charts == {name: 1 for name in CHARTS}
    text = html.read_text(encoding="utf-8")
    for chart in report.charts:
        assert f'aria-labelledby="chart-{chart.name}-title chart-{chart.name}-desc"' in text
        assert f'<title id="chart-{chart.name}-title">{chart.title}</title>' in text and chart.description


def test_the_page_is_self_contained_no_script_no_fetch(written):
    _, html, *_, page = written
    text = html.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert all(u.startswith(("#", "data:")) for u in page.urls), page.urls
    assert not re.search(r"url\((?!#)", text)  # CSS and SVG refer only to ids inside the page
    ids = re.findall(r'\sid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "element ids repeat across charts"


def test_the_first_screen_says_region_date_and_the_headline_numbers_with_units(written):
    report, html, *_ = written
    text = html.read_text(encoding="utf-8")
    head = text[:text.index('id="waiting"')]
    assert "region RS" in head and "Monday 2 March 2026" in head
    for label in ("People waiting", "At risk", "Forecast deadline misses", "Wait to start", "Capacity gap"):
        assert label in head
    assert f">{report.headline['waiting']}<" in head and "First report" in head
    assert "weeks, median" in head and "facilitator hours short" in head


def test_headline_numbers_are_saved_as_json_with_every_measure(written):
    report, _, numbers, *_ = written
    saved = json.loads(numbers.read_text())
    assert saved["headline"] == json.loads(json.dumps(report.headline))
    assert set(saved["headline"]) == {key for key, _, _ in HEADLINE}
    assert saved["as_of"] == AS_OF.isoformat() and saved["region_code"] == "RS"


def test_the_next_report_compares_its_headline_numbers_with_the_previous_one(data, written):
    report, html, *_ = written
    previous = previous_numbers(html.parent, AS_OF + W)
    assert previous["as_of"] == AS_OF.isoformat()
    later = make_data(list(data.referrals) + [make_referral(900)], data.cohorts, data.facilitators, as_of=AS_OF + W)
    nxt = build_report(later, NOW + W, previous)
    changes = {r["measure"]: r for r in nxt.sections[-1].tables[0].rows}
    waiting = changes["people waiting for a place"]
    assert waiting["previous_report"] == report.headline["waiting"]
    assert waiting["change"] == nxt.headline["waiting"] - report.headline["waiting"]
    assert nxt.previous_as_of == AS_OF and "as of 2026-03-02" in nxt.sections[-1].intro


def test_the_first_report_says_so_in_what_changed(written):
    report, *_ = written
    changes = report.sections[-1]
    assert changes.intro.startswith("First report")
    assert all(r["previous_report"] is None and r["change"] is None for r in changes.tables[0].rows)


def test_an_earlier_report_on_a_later_date_is_not_taken_as_the_previous_one(written):
    _, html, *_ = written
    assert previous_numbers(html.parent, AS_OF) is None
    assert previous_numbers(html.parent / "missing", AS_OF) is None


def test_no_personal_names_only_crn_and_ids(written):
    _, html, _, csvs, _ = written
    at_risk = next(p for p in csvs if p.name.endswith("-at-risk.csv"))
    header = at_risk.read_text().splitlines()[0].split(",")
    assert header == ["referral_id", "crn", "programme", "pdu", "deadline", "latest_start", "weeks_to_latest_start"]
    for path in csvs:
        assert not any("name" in column for column in path.read_text().splitlines()[0].split(",")), path.name


def test_an_empty_region_still_renders_every_chart(tmp_path):
    report = build_report(make_data(), NOW)
    html, *_ = write_report(report, tmp_path, None)
    page = Page()
    page.feed(html.read_text())
    assert page.charts == {name: 1 for name in CHARTS}
    assert report.headline["waiting"] == 0 and report.headline["median_wait_weeks"] is None


def test_the_headline_counts_the_plans_that_fell_back_in_the_last_13_weeks():
    from dataclasses import replace as with_
    plans = ((AS_OF - 20 * W, "FALLBACK"), (AS_OF - 12 * W, "FALLBACK"), (AS_OF - 2 * W, "OPTIMAL"),
             (AS_OF - W, "FALLBACK"), (AS_OF, "FEASIBLE"))
    report = build_report(with_(make_data(), plans=plans), NOW)
    assert report.headline["plans_fell_back_13w"] == 2
    assert build_report(make_data(), NOW).headline["plans_fell_back_13w"] == 0


def test_the_headline_counts_open_and_acknowledged_alerts_and_the_alerts_section_lists_them():
    data = replace(make_data(), alerts=(("deadline.missed", "OPEN"), ("deadline.missed", "SNOOZED"),
                                        ("plan.fell_back", "ASSIGNED"), ("plan.fell_back", "ACKNOWLEDGED")))
    report = build_report(data, NOW)
    assert (report.headline["alerts_open"], report.headline["alerts_acknowledged"]) == (2, 2)
    [section] = [s for s in report.sections if s.key == "alerts"]
    assert [(r["kind"], r["open"], r["acknowledged"]) for r in section.tables[0].rows] == [
        ("deadline.missed", 1, 1), ("plan.fell_back", 1, 1)]
