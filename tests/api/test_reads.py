"""What the read routes answer, against the engine's own numbers on the replayed region."""
from __future__ import annotations

from datetime import date

import pytest

from api.auth import Role
from engine.domain.deadlines import latest_start_any
from engine.persistence.report_queries import report_queries
from engine.reports.data import load_report_data
from engine.reports.sections import waiting_list


def every(client, path: str, headers: dict, **params) -> list[dict]:
    """All items of a paginated list, page by page (a small page, to exercise the paging)."""
    items, offset = [], 0
    while True:
        page = client.get(path, params={**params, "limit": 7, "offset": offset}, headers=headers).json()
        items += page["items"]
        offset += 7
        if offset >= page["total"]:
            assert len(items) == page["total"]
            return items


@pytest.fixture(scope="module")
def report(region):
    """The weekly report's data and waiting-list section as of the region's last plan."""
    engine = region.engine
    as_of = engine.planner("fifo").last_planned("RS")
    q = report_queries(engine.database)
    try:
        data = load_report_data(q, "RS", as_of, engine.rules)
    finally:
        q.close()
    return as_of, data, waiting_list(data)


def test_the_waiting_list_is_the_reports_in_urgency_order_with_its_numbers(client, token, report):
    as_of, data, section = report
    rows = every(client, "/regions/RS/waiting-list", token())
    assert {r["referral_id"] for r in rows} == {f.referral_id for f in data.referrals if f.waiting}
    slack = [r["slack_days"] if r["slack_days"] is not None else -10**6 for r in rows]
    assert slack == sorted(slack), "no start left first, then the least slack"
    at_risk = [r["referral_id"] for r in rows if r["at_risk"]]
    assert at_risk, "the replayed region has people at risk"
    assert at_risk == [r["referral_id"] for r in section["at_risk"]], "the report's at-risk people, in its order"
    assert sum(r["cannot_finish"] for r in rows) == sum(r["cannot_finish"] for r in section["by_programme"])
    for r in rows:
        if r["latest_start"]:
            assert r["slack_days"] == (date.fromisoformat(r["latest_start"]) - as_of).days


def test_waiting_list_filters_narrow_the_list(client, token):
    headers = token()
    everyone = every(client, "/regions/RS/waiting-list", headers)
    for name, value in (("programme", "BC-M"), ("sex", "FEMALE"), ("ldc", True), ("at_risk", True)):
        key = {"programme": "programme_code"}.get(name, name)
        got = every(client, "/regions/RS/waiting-list", headers, **{name: value})
        assert got == [r for r in everyone if r[key] == value], name
    pdu = everyone[0]["pdu_code"]
    assert every(client, "/regions/RS/waiting-list", headers, pdu=pdu) == [r for r in everyone if r["pdu_code"] == pdu]
    assessing = every(client, "/regions/RS/waiting-list", headers, status="AWAITING_ASSESSMENT")
    assert all(r["status"] == "AWAITING_ASSESSMENT" and not r["at_risk"] for r in assessing)


def test_a_placed_referral_says_where_why_and_by_when(client, token, region):
    plan = client.get("/regions/RS/plan", headers=token()).json()
    member = next(m for c in plan["cohorts"] for m in c["member_ids"])
    body = client.get(f"/referrals/{member}", headers=token()).json()
    place = body["place"]
    assert place and member in next(c["member_ids"] for c in plan["cohorts"] if c["cohort_id"] == place["cohort_id"])
    if not place["pinned"]:
        assert body["explanation"]["reason"] == place["reason"], "the plan's own reason for the place"
    rules = region.engine.rules
    assert body["latest_start"] == latest_start_any(
        rules.catalogue, body["programme_code"], date.fromisoformat(body["deadline"]), rules.deadline_margin_days,
        rules.is_holiday).isoformat()
    assert body["history"][0]["from_status"] is None and body["history"][-1]["to_status"] == body["status"]
    person = client.get(f"/people/{body['crn']}/referrals", headers=token()).json()
    assert member in [r["referral_id"] for r in person["referrals"]] and person["region"] == "RS"


def test_an_unplaced_referral_says_it_has_no_place(client, token):
    waiting = client.get("/regions/RS/waiting-list", params={"limit": 1}, headers=token()).json()["items"][0]
    body = client.get(f"/referrals/{waiting['referral_id']}", headers=token()).json()
    assert body["place"] is None and body["explanation"]["reason"].startswith("no place")


def test_the_plan_is_the_latest_published_with_cohorts_sessions_and_members(client, token, region):
    plan = client.get("/regions/RS/plan", headers=token()).json()
    q = region.engine.queries()
    try:
        latest = q.latest_plan("RS")
    finally:
        q.close()
    assert plan["plan_version"] == latest["plan_version"] and plan["allocator"] == "current-practice"
    assert plan["cohorts"] and all(c["sessions"] and c["venue"]["office_code"] for c in plan["cohorts"])
    assert all(c["status"] in ("PROPOSED", "CONFIRMED", "STARTED") for c in plan["cohorts"])
    one = plan["cohorts"][0]
    assert client.get(f"/regions/RS/cohorts/{one['cohort_id']}", headers=token()).json() == one
    sessions = one["sessions"]
    assert [s["number"] for s in sessions] == list(range(1, len(sessions) + 1))
    assert sessions[-1]["on"] == one["end_date"]


def test_alerts_are_the_open_ones_filtered_by_kind_and_severity(client, token, region):
    q = region.engine.queries()
    try:
        open_now = q.open_alerts("RS")
    finally:
        q.close()
    rows = every(client, "/regions/RS/alerts", token())
    assert [r["alert_id"] for r in rows] == [a["alert_id"] for a in open_now]
    missed = every(client, "/regions/RS/alerts", token(), kind="deadline.missed")
    assert missed and {r["kind"] for r in missed} == {"deadline.missed"}
    critical = every(client, "/regions/RS/alerts", token(), severity="CRITICAL")
    assert {r["severity"] for r in critical} == {"CRITICAL"}


def test_dead_letters_give_the_reason_and_the_line(client, token, region):
    body = client.get("/dead-letters", headers=token(roles=[Role.ADMIN])).json()
    assert body["total"] == 2 and [d["line_number"] for d in body["items"]] == [11, 12]
    assert "bad JSON" in body["items"][0]["reason"] and "raw" not in body["items"][0]


def test_health_readiness_and_metrics(client, token):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ready", "database": "reachable"}
    client.get("/regions/RS/alerts", headers=token())
    text = client.get("/metrics").text
    assert 'cohortplan_open_alerts{kind="deadline.missed",region="RS"}' in text
    assert 'cohortplan_plan_age_seconds{region="RS"}' in text and "cohortplan_state_up 1.0" in text
    assert "cohortplan_dead_letters 2.0" in text  # the region's two bad lines
    assert "cohortplan_events_waiting 0.0" in text and "cohortplan_events_expired_kept 0.0" in text
    assert 'cohortplan_api_requests_total{method="GET",route="/regions/{region}/alerts",status="200"}' in text


def test_reports_list_the_weekly_report_and_serve_its_html_and_tables(client, token, report):
    as_of, _, section = report
    listed = client.get("/regions/RS/reports", headers=token()).json()
    assert listed["total"] == 1 and listed["items"][0]["as_of"] == as_of.isoformat()
    one = client.get(f"/regions/RS/reports/{as_of}", headers=token()).json()
    assert one == listed["items"][0] and one["headline"]["at_risk"] == len(section["at_risk"])
    html = client.get(one["html_url"], headers=token())
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html") and "<html" in html.text
    at_risk = next(t for t in one["tables"] if t["name"] == "at-risk")
    rows = client.get(at_risk["csv_url"], headers=token())
    assert rows.headers["content-type"].startswith("text/csv")
    assert len(rows.text.strip().splitlines()) == 1 + len(section["at_risk"])


def test_an_unknown_report_or_table_is_a_404_naming_the_known_ones(client, token, report):
    as_of = report[0]
    missing = client.get("/regions/RS/reports/2001-01-01", headers=token()).json()
    assert missing["status"] == 404 and missing["known"] == [as_of.isoformat()]
    table = client.get(f"/regions/RS/reports/{as_of}/tables/nope.csv", headers=token()).json()
    assert table["status"] == 404 and "at-risk" in table["known"]
    assert client.get(f"/regions/RS/reports/{as_of}/tables/..%2Fx.csv", headers=token()).status_code in (404, 422)
