"""`cohortplan whatif` as a user runs it: a table or JSON, an FTE sweep, bad values refused, nothing written."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cohortplan_cli import app
from engine.bootstrap import bootstrap
from engine.settings import EngineSettings

runner = CliRunner()


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    """A small generated region replayed with weekly plans."""
    tmp = tmp_path_factory.mktemp("whatif")
    events = tmp / "events.jsonl"
    assert runner.invoke(app, ["generate", "--weeks", "16", "--scale", "0.3", "-o", str(events)]).exit_code == 0
    url = f"sqlite:///{tmp}/whatif.db"
    replayed = runner.invoke(app, ["replay", str(events), "--database-url", url, "--plan-every-days", "7",
                                   "--allocator", "current-practice"])
    assert replayed.exit_code == 0, replayed.output
    return url


def state(url: str) -> dict:
    return bootstrap(EngineSettings(database_url=url)).queries().canonical_state()


def test_whatif_explains_itself():
    result = runner.invoke(app, ["whatif", "--help"])
    assert result.exit_code == 0 and "--add-facilitators" in result.output and "--sweep-fte" in result.output


def test_whatif_prints_baseline_scenario_and_difference_and_writes_nothing(url):
    before = state(url)
    result = runner.invoke(app, ["whatif", "--database-url", url, "--add-facilitators", "RS-P01=2",
                                 "--evening-track", "--demand-factor", "1.2", "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    for phrase in ("What-if for RS as of", "(cpsat, 1 s per solve)", "baseline", "scenario", "difference",
                   "will miss their deadline", "median wait to start", "92nd percentile wait", "cohorts opened",
                   "facilitator hours", "people placed", "added WHATIF-F1, WHATIF-F2 in RS-P01", "evening track",
                   "demand x1.2", "solving baseline", "Nothing was written"):
        assert phrase in result.output, phrase
    assert state(url) == before


def test_whatif_json_is_machine_readable(url):
    result = runner.invoke(app, ["whatif", "--database-url", url, "--allocator", "current-practice", "--json",
                                 "--remove-facilitators", "RS-P01=1", "--open-venue", "RS-P02-O1=1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["region"] == "RS" and data["allocator"] == "current-practice"
    assert set(data["baseline"]) >= {"misses", "miss_pct", "median_wait_weeks", "p92_wait_weeks", "cohorts_opened",
                                     "facilitator_hours", "placed", "within_reach"}
    assert data["difference"]["misses"] == data["scenario_outcome"]["misses"] - data["baseline"]["misses"]
    assert data["scenario"]["open_venues"] == {"RS-P02-O1": 1} and len(data["changes"]) >= 2


def test_the_fte_sweep_lists_every_step_and_the_answer(url):
    result = runner.invoke(app, ["whatif", "--database-url", url, "--allocator", "current-practice", "--sweep-fte",
                                 "--target-miss-pct", "0.01", "--max-fte", "3", "--pdu", "RS-P01"])
    assert result.exit_code == 0, result.output
    assert "FTE sweep for RS" in result.output and "assumed:" in result.output
    assert "answer: +" in result.output or "not reach" in result.output
    data = json.loads(runner.invoke(app, ["whatif", "--database-url", url, "--allocator", "current-practice",
                                          "--sweep-fte", "--target-miss-pct", "100", "--json"]).stdout)
    assert data["answer_fte"] == 0 and [s["fte"] for s in data["steps"]] == [0] and data["assumptions"]


@pytest.mark.parametrize("args, phrase", [
    (["--add-facilitators", "RS-P01"], "'RS-P01' is not PDU=N"),
    (["--add-facilitators", "RS-P01=two"], "'RS-P01=two' is not PDU=N"),
    (["--add-facilitators", "RS-P99=1"], "unknown PDU 'RS-P99' in region RS; valid PDUs: RS-P01"),
    (["--remove-facilitators", "XX=1"], "unknown PDU 'XX'"),
    (["--open-venue", "NOWHERE"], "unknown office 'NOWHERE' in region RS; valid offices: RS-P01-O1"),
    (["--programme", "ZZ", "--add-facilitators", "RS-P01=1"], "unknown programme 'ZZ'; valid programmes: "),
    (["--region", "XX"], "unknown region 'XX'; valid regions: RS"),
    (["--demand-factor", "-1"], "--demand-factor -1 must be above 0"),
    (["--as-of", "someday"], "--as-of someday is not a date"),
    (["--sweep-fte"], "--sweep-fte needs --target-miss-pct"),
    (["--sweep-fte", "--target-miss-pct", "10", "--pdu", "RS-P77"], "unknown PDU 'RS-P77'"),
])
def test_bad_values_are_refused_with_exit_code_2_naming_the_value_and_the_valid_ones(url, args, phrase):
    result = runner.invoke(app, ["whatif", "--database-url", url, "--allocator", "current-practice", *args])
    assert result.exit_code == 2, result.output
    assert phrase in " ".join(result.output.split()), result.output
