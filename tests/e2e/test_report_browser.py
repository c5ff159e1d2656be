"""The weekly report as a planner gets it: written by `cohortplan demo` and `cohortplan report`, opened in a
real headless Chromium with nothing else: every chart drawn, no console errors, nothing fetched."""
from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohortplan_cli import app
from tests.support.browser import BrowserUnavailable, headless_chromium

pytestmark = pytest.mark.slow

runner = CliRunner()
CHARTS = ("waiting", "wait-trend", "forecast", "capacity", "capacity-by-programme", "cohort-fill", "utilisation",
          "equity", "started-in-time")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo region (current practice, weekly plans) whose run writes the report as of the last plan."""
    out = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "--out", str(out), "--weeks", "16", "--scale", "0.3",
                                 "--allocator", "current-practice"])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture(scope="module")
def browser():
    try:
        with headless_chromium(1280, 900) as driver:
            yield driver
    except BrowserUnavailable as exc:
        pytest.fail(f"headless Chromium is required for the report browser test (never skipped): {exc}",
                    pytrace=False)


def report_path(output: str) -> Path:
    found = re.findall(r"(\S+weekly-\d{4}-\d{2}-\d{2}\.html)", output.replace("\n", ""))
    assert found, output
    return Path(found[-1])


def test_the_demo_writes_the_report_as_of_its_last_plan_and_prints_where(demo):
    out, output = demo
    html = report_path(output)
    assert html.exists() and html.parent == out / "reports" / "RS"
    summary = json.loads((out / "summary.json").read_text())
    assert html.name == f"weekly-{summary['as_of']}.html"
    numbers = json.loads(html.with_suffix(".json").read_text())
    assert numbers["headline"]["waiting"] == sum(summary["waiting_by_programme"].values())


def test_the_report_command_writes_html_csvs_and_numbers_and_publishes_once(demo, tmp_path):
    out, output = demo
    url = f"sqlite:///{out}/cohortplan.db"
    as_of = report_path(output).stem.removeprefix("weekly-")
    result = runner.invoke(app, ["report", "--region", "RS", "--as-of", as_of, "--out", str(tmp_path),
                                 "--database-url", url])
    assert result.exit_code == 0, result.output
    html = report_path(result.output)
    assert html == tmp_path / "reports" / "RS" / f"weekly-{as_of}.html" and html.exists()
    assert "already published for this date" in result.output  # the demo published this region and date
    csvs = sorted(p.name for p in html.parent.glob(f"weekly-{as_of}-*.csv"))
    assert len(csvs) == 15 and f"weekly-{as_of}-capacity-weekly.csv" in csvs
    assert f"weekly-{as_of}-alerts.csv" in csvs
    assert json.loads(html.with_suffix(".json").read_text())["previous_as_of"] is None


def test_the_report_command_refuses_an_unknown_region_naming_the_known_ones(demo):
    out, _ = demo
    result = runner.invoke(app, ["report", "--region", "NOPE", "--database-url", f"sqlite:///{out}/cohortplan.db"])
    assert result.exit_code == 2
    assert "unknown region 'NOPE'" in result.output and "known regions: RS" in result.output


def test_the_report_command_explains_itself():
    result = runner.invoke(app, ["report", "--help"])
    assert result.exit_code == 0 and "--region" in result.output and "--as-of" in result.output


def test_the_report_opens_in_chromium_with_every_chart_drawn_and_no_console_errors(demo, browser, tmp_path):
    html = report_path(demo[1])
    browser.get(html.resolve().as_uri())
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    png = shot.read_bytes()
    width, height = struct.unpack(">II", png[16:24])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (1280, 900) and len(png) > 30_000

    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe

    placed = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure[data-chart]')).map(f => {"
        "  const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : null;"
        "  return [f.dataset.chart, svg ? svg.querySelectorAll('path, text, use').length : 0,"
        "          box ? box.width : 0, box ? box.height : 0]; })")
    assert sorted(name for name, *_ in placed) == sorted(CHARTS), placed
    for name, marks, width, height in placed:
        assert marks > 10 and width > 100 and height > 100, (name, marks, width, height)

    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    first_screen = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-card]')).map(c => "
        "[c.dataset.card, c.getBoundingClientRect().bottom])")
    assert [label for label, _ in first_screen] == ["People waiting", "At risk", "Forecast deadline misses",
                                                    "Wait to start", "Capacity gap", "Cohorts"]
    assert all(bottom <= 900 for _, bottom in first_screen), first_screen
    assert "region RS" in browser.title and browser.find_element("css selector", "h1").is_displayed()
