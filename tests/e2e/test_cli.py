"""The `cohortplan` command as a user runs it: help everywhere, bad files explained, demo outputs written."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cohortplan_cli import app

runner = CliRunner()
COMMANDS = ["generate", "replay", "plan", "explain", "demo", "waitlist", "status", "deadletters", "alerts",
            "schemas export", "schemas asyncapi"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and "--help" in result.output


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """A small generated region with two bad lines, replayed with weekly plans."""
    tmp = tmp_path_factory.mktemp("cli")
    events = tmp / "events.jsonl"
    assert runner.invoke(app, ["generate", "--weeks", "16", "--scale", "0.3", "-o", str(events)]).exit_code == 0
    lines = events.read_text().splitlines()
    bad = tmp / "bad.jsonl"
    bad.write_text("\n".join(lines[:10] + ["{broken", '{"event_type": "person.updated"}'] + lines[10:]) + "\n")
    url = f"sqlite:///{tmp}/cli.db"
    result = runner.invoke(app, ["replay", str(bad), "--database-url", url, "--plan-every-days", "7",
                                 "--time-limit", "1"])
    return url, lines, result


def test_replay_of_a_bad_file_says_which_lines_and_why_and_keeps_going(replayed):
    url, lines, result = replayed
    assert result.exit_code == 0, result.output
    assert "dead letters 2" in result.output
    assert "line 11" in result.output and "bad JSON" in result.output
    assert "line 12" in result.output and "invalid envelope" in result.output
    assert f"applied {len(lines):,}" in result.output


def test_deadletters_lists_the_rejected_lines(replayed):
    url, _, _ = replayed
    result = runner.invoke(app, ["deadletters", "--database-url", url])
    assert result.exit_code == 0 and "2 dead letters" in result.output and "event_id" in result.output


def test_status_shows_a_case_by_crn_and_refuses_an_unknown_one(replayed):
    url, lines, _ = replayed
    crn = next(json.loads(line)["payload"]["crn"] for line in lines
               if json.loads(line)["event_type"] == "referral.created")
    shown = runner.invoke(app, ["status", crn, "--database-url", url])
    assert shown.exit_code == 0 and crn in shown.output and "history" in shown.output
    assert "latest_start" in shown.output and "deadline" in shown.output
    missing = runner.invoke(app, ["status", "X000000", "--database-url", url])
    assert missing.exit_code == 1 and "no person with crn X000000" in missing.output


def test_waitlist_and_plan_run_on_the_replayed_state(replayed):
    url, _, _ = replayed
    waitlist = runner.invoke(app, ["waitlist", "--database-url", url, "--limit", "5"])
    assert waitlist.exit_code == 0 and "waiting" in waitlist.output
    plan = runner.invoke(app, ["plan", "--database-url", url, "--as-of", "2026-01-05", "--allocator", "fifo"])
    assert plan.exit_code == 0 and "(fifo)" in plan.output


def test_an_unknown_allocator_is_refused_with_the_choices(replayed):
    url, _, _ = replayed
    result = runner.invoke(app, ["plan", "--database-url", url, "--allocator", "magic"])
    assert result.exit_code != 0 and "current-practice" in result.output


def test_demo_prints_the_summary_and_writes_its_outputs(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--weeks", "20", "--scale", "0.3"])
    assert result.exit_code == 0, result.output
    for phrase in ("waiting", "allocations made", "finishes before their deadline",
                   "started before it ended", "people at risk", "dead letters: 0"):
        assert phrase in result.output
    made = [json.loads(line) for line in (tmp_path / "allocations.jsonl").read_text().splitlines()]
    assert any(m["event_type"] == "allocation.made" for m in made)
    assert (tmp_path / "alerts.jsonl").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["allocations_made"] == sum(m["event_type"] == "allocation.made" for m in made)


def test_alerts_lists_open_alerts_with_filters_and_a_repeated_sweep_adds_nothing(replayed):
    url, lines, _ = replayed
    crns = {json.loads(line)["payload"]["crn"] for line in lines if '"crn"' in line}
    listed = runner.invoke(app, ["alerts", "--database-url", url, "--json", "--limit", "1000"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines() if line.startswith("{")]
    assert rows, "a replayed region has open alerts"
    assert not any(crn in row["reason"] for row in rows for crn in crns), "a crn in an alert reason"
    severities = [row["severity"] for row in rows]
    assert severities == sorted(severities, key=["CRITICAL", "WARNING", "INFO"].index)
    kind = rows[0]["kind"]
    only = runner.invoke(app, ["alerts", "--database-url", url, "--json", "--kind", kind, "--limit", "1000"])
    assert {json.loads(x)["kind"] for x in only.output.splitlines() if x.startswith("{")} == {kind}
    critical = runner.invoke(app, ["alerts", "--database-url", url, "--json", "--severity", "critical",
                                   "--limit", "1000"])
    assert all(json.loads(x)["severity"] == "CRITICAL" for x in critical.output.splitlines() if x.startswith("{"))
    again = runner.invoke(app, ["alerts", "--database-url", url, "--sweep"])
    assert again.exit_code == 0, again.output
    assert "0 raised, 0 updated, 0 cleared" in again.output
    assert "open alerts" in again.output
    assert "state" in again.output and "OPEN" in again.output  # the workflow state column (nobody acted yet)


def test_alerts_refuses_an_unknown_kind_or_severity_naming_the_choices(replayed):
    url, _, _ = replayed
    bad_kind = runner.invoke(app, ["alerts", "--database-url", url, "--kind", "deadline.bogus"])
    assert bad_kind.exit_code == 2 and "deadline.bogus" in bad_kind.output and "deadline.at_risk" in bad_kind.output
    bad_severity = runner.invoke(app, ["alerts", "--database-url", url, "--severity", "loud"])
    assert bad_severity.exit_code == 2 and "CRITICAL" in bad_severity.output


def test_an_unreachable_database_is_named_with_what_to_do_and_no_password():
    result = runner.invoke(app, ["waitlist", "--database-url", "postgresql+psycopg://ops:s3cret@127.0.0.1:1/none"])
    assert result.exit_code == 2
    assert "cannot open database" in result.output and "COHORTPLAN_DATABASE_URL" in result.output
    assert "s3cret" not in result.output


def test_a_generator_parameter_that_makes_no_sense_is_refused_with_the_reason(tmp_path):
    result = runner.invoke(app, ["generate", "--start", "2024-11-26", "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2 and "Monday" in result.output


def test_replay_plans_with_cpsat_by_default(replayed):
    url, _, result = replayed
    assert "plans " in result.output
    plan = runner.invoke(app, ["plan", "--database-url", url, "--as-of", "2025-03-17", "--time-limit", "2"])
    assert plan.exit_code == 0, plan.output
    assert "(cpsat)" in plan.output and "status " in plan.output and "deadline misses" in plan.output


def test_explain_says_why_each_referral_has_its_cohort_or_none(replayed):
    url, lines, _ = replayed
    crns = [json.loads(line)["payload"]["crn"] for line in lines
            if json.loads(line)["event_type"] == "referral.created"][:5]
    outputs = [runner.invoke(app, ["explain", crn, "--database-url", url, "--allocator", "current-practice"])
               for crn in crns]
    assert all(o.exit_code == 0 for o in outputs), [o.output for o in outputs]
    phrases = ("by latest end", "no place: ", "holds a fixed place", "not planned (", "  breaks ", "  place on ")
    for crn, out in zip(crns, outputs):
        lines = [line for line in out.output.splitlines() if line.strip()]
        assert lines and all(any(p in line for p in phrases) for line in lines), out.output
    missing = runner.invoke(app, ["explain", "X000000", "--database-url", url])
    assert missing.exit_code == 1 and "no person with crn X000000" in missing.output


def test_explain_names_the_rule_a_kept_place_breaks_and_what_to_do(tmp_path):
    """Issue 12, class 2: explain no longer only says the place is fixed — for a running place kept and
    flagged, and for a delivery-team place released before the start."""
    from datetime import date, datetime, timedelta, timezone

    from tests.support.events import cohort_planned, event, facilitator, person_with_referral
    from tests.support.stores import SqlTestStore
    from tests.unit.engine.harness import Harness
    url = f"sqlite:///{tmp_path}/explain.db"
    h = Harness(SqlTestStore(url, "sqlite"))
    h.feed(*[line for i in range(6) for line in person_with_referral(f"X{i:06d}")],
           cohort_planned("C1", date(2025, 3, 3)), facilitator("F1"), facilitator("F2"))
    at = datetime(2025, 2, 12, 9, tzinfo=timezone.utc)
    h.feed(event("cohort.confirmed", at, key="RS", cohort_id="C1", facilitator_ids=["F1", "F2"],
                 members=[f"REF-X{i:06d}" for i in range(6)]))
    h.feed(event("person.updated", at + timedelta(hours=1), crn="X000004", sex="FEMALE"))  # before the start
    started = datetime(2025, 3, 3, 12, tzinfo=timezone.utc)
    h.feed(event("attendance.recorded", started, key="RS", cohort_id="C1", referral_id="REF-X000002",
                 session_number=1, session_date=date(2025, 3, 3), outcome="ATTC"))
    h.feed(event("person.updated", started + timedelta(hours=1), crn="X000002", sex="FEMALE"))  # running
    h.plan(date(2025, 3, 3))
    out = runner.invoke(app, ["explain", "X000002", "--database-url", url, "--allocator", "current-practice"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "holds a fixed place on C1" in text and "breaks sex: person recorded as FEMALE, cohort is MALE" in text
    assert "move the person to a group they may join" in text
    out = runner.invoke(app, ["explain", "X000004", "--database-url", url, "--allocator", "current-practice"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "confirmed by the delivery team on C1 but holds no place there: sex: " in text
    assert "correct the membership or the record" in text
