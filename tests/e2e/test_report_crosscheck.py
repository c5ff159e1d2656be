"""The weekly report's numbers against direct SQL on the same replayed region, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import csv
import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from statistics import median

import pytest
from sqlalchemy import text

from engine.bootstrap import bootstrap
from engine.domain.regions import load_region
from engine.domain.rules import EngineRules
from engine.persistence.database import Database, make_engine, queries
from engine.reports.publish import UnknownRegion, publish_weekly_report
from engine.domain.deadlines import latest_start_any
from engine.services import metrics
from engine.services.ingest import Ingestor
from engine.services.planning import Planner
from engine.services.replay import Replay, read_lines
from engine.settings import EngineSettings
from simulator import GeneratorParams, generate
from solver.baselines import CurrentPracticeAllocator

pytestmark = pytest.mark.slow

DEADLINE = ("CASE WHEN q.end_date IS NOT NULL AND q.end_date < s.expected_end_date THEN q.end_date "
            "ELSE s.expected_end_date END")
REFERRALS = ("FROM referrals r JOIN people p ON p.crn = r.crn JOIN requirements q ON q.requirement_id = "
             "r.requirement_id JOIN sentences s ON s.sentence_id = q.sentence_id")


@pytest.fixture(scope="module")
def region_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("region") / "events.jsonl"
    generate(GeneratorParams(weeks=30, seed=11, scale=0.4), path)
    return path


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def replayed(request, region_file, tmp_path_factory):
    """The region replayed with weekly current-practice plans, and its report as of the last plan."""
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp}/report.db"
    else:
        url = request.getfixturevalue("postgres_server").create_database(f"r_{uuid.uuid4().hex[:12]}")
    db, rules = Database(url), EngineRules()
    with db.uow() as uow:
        region = load_region("default")
        uow.save_offices(region.region_code, region.offices)
        uow.commit()
    summary = Replay(Ingestor(db.uow, rules), Planner(db.uow, CurrentPracticeAllocator(), rules),
                     timedelta(days=7), batch_size=500).run(list(read_lines(region_file)))
    as_of = summary.plans[-1].as_of
    published = publish_weekly_report(db, rules, "RS", as_of, tmp / "out")
    return url, db, rules, as_of, published


def sql(url: str, statement: str, **params) -> list:
    with make_engine(url).connect() as connection:
        return [tuple(row) for row in connection.execute(text(statement), params)]


def table(published, name: str) -> list[dict]:
    path = published.html.parent / f"weekly-{published.report.as_of.isoformat()}-{name}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_waiting_list_by_programme_and_past_deadline_match_sql(replayed):
    url, _, _, as_of, published = replayed
    expected = sql(url, f"SELECT r.programme_code, count(*), sum(CASE WHEN {DEADLINE} <= :d THEN 1 ELSE 0 END) "
                        f"{REFERRALS} WHERE r.status = 'AWAITING_ALLOCATION' AND p.region_code = 'RS' "
                        "GROUP BY r.programme_code ORDER BY r.programme_code", d=as_of)
    got = [(r["programme"], int(r["waiting"]), int(r["past_deadline"]))
           for r in table(published, "waiting-by-programme")]
    assert got == [(code, n, int(past)) for code, n, past in expected] and got
    assert published.report.headline["waiting"] == sum(n for _, n, _ in expected)


def test_at_risk_matches_the_planners_latest_start_rule_on_sql_rows(replayed):
    url, _, rules, as_of, published = replayed
    rows = sql(url, f"SELECT r.referral_id, r.programme_code, {DEADLINE} {REFERRALS} "
                    "WHERE r.status = 'AWAITING_ALLOCATION' AND p.region_code = 'RS'")
    expected, gone = set(), set()
    for rid, code, deadline in rows:
        deadline = deadline if isinstance(deadline, date) else date.fromisoformat(str(deadline))
        latest = latest_start_any(rules.catalogue, code, deadline, rules.deadline_margin_days, rules.is_holiday)
        if deadline > as_of and latest is not None and as_of <= latest <= as_of + timedelta(weeks=8):
            expected.add(rid)
        elif deadline > as_of and (latest is None or latest < as_of):
            gone.add(rid)
    assert {r["referral_id"] for r in table(published, "at-risk")} == expected
    assert published.report.headline["at_risk"] == len(expected)
    assert published.report.headline["cannot_finish"] == len(gone)


def test_forecast_starts_match_the_places_held_on_cohorts_starting_in_the_next_26_weeks(replayed):
    url, _, _, as_of, published = replayed
    end = as_of - timedelta(days=as_of.weekday()) + timedelta(weeks=26)
    ((expected,),) = sql(url, "SELECT count(*) FROM allocations a JOIN cohorts c ON c.cohort_id = a.cohort_id "
                              "JOIN referrals r ON r.referral_id = a.referral_id JOIN people p ON p.crn = r.crn "
                              "WHERE p.region_code = 'RS' AND c.start_date > :d AND c.start_date < :e", d=as_of, e=end)
    assert sum(int(r["starts"]) for r in table(published, "forecast")) == expected
    assert published.report.headline["forecast_starts_26w"] == expected


def test_forecast_misses_of_people_placed_on_cohorts_ending_too_late_match_sql(replayed):
    url, _, _, as_of, published = replayed
    end = as_of - timedelta(days=as_of.weekday()) + timedelta(weeks=26)
    ((expected,),) = sql(url, f"SELECT count(*) {REFERRALS} JOIN allocations a ON a.referral_id = r.referral_id "
                              "JOIN cohorts c ON c.cohort_id = a.cohort_id WHERE p.region_code = 'RS' "
                              f"AND c.end_date > {DEADLINE} AND {DEADLINE} > :d AND {DEADLINE} < :e", d=as_of, e=end)
    assert sum(int(r["misses_placed_late"]) for r in table(published, "forecast")) == expected


def test_median_wait_matches_referral_to_cohort_start_for_the_starts_of_the_last_26_weeks(replayed):
    url, _, _, as_of, published = replayed
    first = as_of - timedelta(days=as_of.weekday()) - timedelta(weeks=25)
    placed = sql(url, "SELECT r.referral_id, r.referred_on, c.start_date FROM allocations a "
                      "JOIN cohorts c ON c.cohort_id = a.cohort_id JOIN referrals r ON r.referral_id = a.referral_id "
                      "JOIN people p ON p.crn = r.crn WHERE p.region_code = 'RS'")
    on_programme = dict(sql(url, "SELECT h.referral_id, min(h.at) FROM referral_history h JOIN referrals r ON "
                                 "r.referral_id = h.referral_id JOIN people p ON p.crn = r.crn WHERE "
                                 "h.to_status = 'ON_PROGRAMME' AND p.region_code = 'RS' GROUP BY h.referral_id"))
    referred = dict(sql(url, "SELECT r.referral_id, r.referred_on FROM referrals r JOIN people p ON p.crn = r.crn "
                             "WHERE p.region_code = 'RS'"))
    starts = {rid: (_d(referred_on), _d(start)) for rid, referred_on, start in placed if _d(start) <= as_of}
    for rid, at in on_programme.items():
        if rid not in starts and _d(at) <= as_of:
            starts[rid] = (_d(referred[rid]), _d(at))
    waits = [(start - referred_on).days / 7 for referred_on, start in starts.values() if first <= start <= as_of]
    assert waits, "the replay should have starts in the window"
    assert published.report.headline["starts_26w"] == len(waits)
    assert published.report.headline["median_wait_weeks"] == round(median(waits), 1)


def test_cohort_fill_and_cohorts_to_open_match_sql(replayed):
    url, _, _, as_of, published = replayed
    live = dict(sql(url, "SELECT c.cohort_id, count(a.referral_id) FROM cohorts c LEFT JOIN allocations a ON "
                         "a.cohort_id = c.cohort_id WHERE c.region_code = 'RS' AND c.status IN ('CONFIRMED', 'STARTED') "
                         "AND c.end_date >= :d GROUP BY c.cohort_id", d=as_of))
    assert {r["cohort_id"]: int(r["members"]) for r in table(published, "cohort-fill")} == live and live
    to_open = {cid for (cid,) in sql(url, "SELECT cohort_id FROM cohorts WHERE region_code = 'RS' AND origin = 'PLAN' "
                                          "AND status IN ('PROPOSED', 'CONFIRMED') AND start_date > :d", d=as_of)}
    assert {r["cohort_id"] for r in table(published, "cohorts-to-open")} == to_open


def test_utilisation_lists_every_facilitator_still_employed_by_id_with_contracted_hours(replayed):
    url, _, _, as_of, published = replayed
    monday = as_of - timedelta(days=as_of.weekday())
    staff = sql(url, "SELECT facilitator_id, weekly_hours FROM facilitators WHERE region_code = 'RS' AND "
                     "(left_on IS NULL OR left_on > :m) ORDER BY facilitator_id", m=monday)
    rows = table(published, "utilisation")
    assert [(r["facilitator_id"], float(r["contracted_hours_12w"])) for r in rows] == \
        [(fid, round(hours * 12, 1)) for fid, hours in staff]


def test_equity_counts_the_same_open_referrals_as_sql(replayed):
    url, _, _, as_of, published = replayed
    ((expected,),) = sql(url, f"SELECT count(*) {REFERRALS} LEFT JOIN allocations a ON a.referral_id = r.referral_id "
                              "LEFT JOIN cohorts c ON c.cohort_id = a.cohort_id WHERE p.region_code = 'RS' AND "
                              f"{DEADLINE} > :d AND ((a.referral_id IS NULL AND r.status IN ('AWAITING_ASSESSMENT', "
                              "'AWAITING_ALLOCATION', 'SUITABLE_NOT_READY', 'DEPRIORITISED', 'DEFERRED')) OR "
                              "(a.referral_id IS NOT NULL AND c.end_date >= :d))", d=as_of)
    rows = table(published, "equity")
    overall = next(r for r in rows if r["dimension"] == "all")
    assert int(overall["open_referrals"]) == expected
    for dimension in ("sex", "ethnicity group", "LDC", "PDU"):
        assert sum(int(r["open_referrals"]) for r in rows if r["dimension"] == dimension) == expected


def test_the_realised_share_started_in_time_is_the_closed_loops_measure(replayed):
    _, db, _, as_of, published = replayed
    rows = queries(db).requirement_outcomes(as_of)
    year = [r for r in rows if metrics.counted(r, date.min, as_of) and r["deadline"] > as_of - timedelta(weeks=52)]
    assert year, "the replayed region has orders that ended in the last 52 weeks"
    expected = round(100 * sum(metrics.started_in_time(r, as_of) for r in year) / len(year), 1)
    overall = next(r for r in table(published, "equity") if r["dimension"] == "all")
    assert (int(overall["orders_ended_52w"]), float(overall["started_in_time_pct"])) == (len(year), expected)


def test_the_json_numbers_and_the_csvs_agree(replayed):
    *_, published = replayed
    saved = json.loads(published.numbers.read_text())
    assert saved["headline"]["waiting"] == sum(int(r["waiting"]) for r in table(published, "waiting-by-programme"))
    assert saved["headline"]["forecast_misses_26w"] == sum(int(r["misses"]) for r in table(published, "forecast"))
    weekly = table(published, "capacity-region-weekly")
    assert saved["headline"]["capacity_hours_26w"] == pytest.approx(sum(float(r["capacity_hours"]) for r in weekly),
                                                                    abs=0.1 * len(weekly))
    assert len(published.csvs) == len(published.report.tables) and published.html.stat().st_size > 50_000


def test_report_published_goes_to_the_outbox_once_per_region_and_date(replayed):
    url, db, rules, as_of, published = replayed
    again = publish_weekly_report(db, rules, "RS", as_of, published.html.parent.parent.parent)
    assert published.published and not again.published and again.html == published.html
    messages = [json.loads(m) for (m,) in sql(url, "SELECT message FROM outbox WHERE event_type = 'report.published'")]
    assert len(messages) == 1
    payload = messages[0]["payload"]
    assert payload == dict(report_id=f"weekly-RS-{as_of}", kind="weekly-planner",
                           period_start=str(as_of - timedelta(days=7)), period_end=str(as_of),
                           location=str(published.html))


def test_an_unknown_region_is_refused_naming_the_known_ones(replayed):
    _, db, rules, as_of, published = replayed
    with pytest.raises(UnknownRegion, match="unknown region 'XX'; known regions: RS"):
        publish_weekly_report(db, rules, "XX", as_of, published.html.parent)


def test_the_worker_writes_the_same_full_report_on_its_crontab(replayed, tmp_path):
    url, *_ = replayed
    from streams.service import EngineService
    service = EngineService(bootstrap(EngineSettings(database_url=url, solver_in_process=True)))
    try:
        path = asyncio.run(service.weekly_report("RS", tmp_path))
        assert path is not None and path.suffix == ".html" and path.parent == tmp_path / "reports" / "RS"
        assert 'data-chart="capacity"' in path.read_text() and path.with_suffix(".json").exists()
        assert asyncio.run(service.weekly_report("RS", tmp_path)) is None  # once per region and date
    finally:
        service.close()


def _d(value) -> date:
    return value if isinstance(value, date) and not hasattr(value, "hour") else date.fromisoformat(str(value)[:10])
