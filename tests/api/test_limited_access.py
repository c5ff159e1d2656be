"""Limited-access cases over HTTP, the audit of reads and subject access, on a copy of the replayed region.

Two people of the region get a rule through the wire (``person.updated`` v2): ``restricted`` (the subject of
an open alert) may be seen by ALLOWED only; ``excluded`` (on the waiting list) by anyone but EXCLUDED. OTHER
is neither. Every answer holding person-level data adds one row to the audit of reads.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.models import Alert, Page, RestrictedAlert, WaitingList
from api.responses import page_response
from engine.services.ingest import RawEvent
from tests.api.conftest import REGION, copied

ALLOWED, EXCLUDED, OTHER = "pp.allowed-1", "staff.excluded-2", "tm.other-3"
RESTRICTED = {"restricted": True, "detail": "Restricted"}


@dataclass(frozen=True)
class Cases:
    restricted_crn: str
    restricted_referral: str
    restricted_alert: str
    excluded_crn: str
    excluded_referral: str
    member_crn: str  # holds a place on a cohort of the plan
    cohort_id: str
    database: str


@pytest.fixture(scope="module")
def limited(region, issuer, tmp_path_factory) -> Iterator[tuple[TestClient, Cases]]:
    engine = copied(region, tmp_path_factory.mktemp("api-limited"))
    client = TestClient(create_app(engine, issuer.verifier()))
    admin = {"Authorization": f"Bearer {issuer.token([Role.ADMIN], [REGION], subject=OTHER)}"}
    alerts = client.get("/regions/RS/alerts", params={"limit": 500}, headers=admin).json()["items"]
    alert = next(a for a in alerts if a["subject_type"] == "referral" and "/" not in a["subject_id"])
    restricted = client.get(f"/referrals/{alert['subject_id']}", headers=admin).json()
    waiting = client.get("/regions/RS/waiting-list", params={"limit": 500}, headers=admin).json()["items"]
    excluded = next(w for w in waiting if w["crn"] != restricted["crn"])
    cohorts = client.get("/regions/RS/plan", headers=admin).json()["cohorts"]
    members = (client.get(f"/referrals/{m}", headers=admin).json() for c in cohorts for m in c["member_ids"])
    member = next(m for m in members if m["place"]["source"] == "PLAN")  # the plan's place: allocation.made
    cohort = next(c for c in cohorts if member["referral_id"] in c["member_ids"])
    now = datetime.now(timezone.utc)
    result = engine.ingestor.process([
        RawEvent(rule(restricted["crn"], now, restrictions=[ALLOWED]), "test", 1),
        RawEvent(rule(excluded["crn"], now, exclusions=[EXCLUDED]), "test", 2)])
    assert result.applied == 2
    yield client, Cases(restricted["crn"], alert["subject_id"], alert["alert_id"], excluded["crn"],
                        excluded["referral_id"], member["crn"], cohort["cohort_id"],
                        engine.database.url.removeprefix("sqlite:///"))
    engine.database.dispose()


def rule(crn: str, at: datetime, restrictions=(), exclusions=()) -> str:
    return json.dumps({"event_id": str(uuid.uuid4()), "event_type": "person.updated", "schema_version": 2,
                       "occurred_at": at.isoformat(), "source": "ndelius", "key": crn,
                       "payload": {"crn": crn, "limited_access": {"restrictions": list(restrictions),
                                                                  "exclusions": list(exclusions)}}})


@pytest.fixture(scope="module")
def as_user(issuer):
    def headers(user: str, role: Role = Role.READ) -> dict[str, str]:
        return {"Authorization": f"Bearer {issuer.token([role], [REGION], subject=user)}"}
    return headers


# who sees what ---------------------------------------------------------------------------------------
# (which case, who asks, whether they see it)
WHO = [("restricted", ALLOWED, True), ("restricted", EXCLUDED, False), ("restricted", OTHER, False),
       ("excluded", ALLOWED, True), ("excluded", EXCLUDED, False), ("excluded", OTHER, True)]


def case_of(cases: Cases, which: str) -> tuple[str, str]:
    return ((cases.restricted_crn, cases.restricted_referral) if which == "restricted"
            else (cases.excluded_crn, cases.excluded_referral))


@pytest.mark.parametrize("which,user,sees", WHO)
def test_a_referral_is_whole_to_those_allowed_and_restricted_to_everyone_else(limited, as_user, which, user, sees):
    client, cases = limited
    crn, referral_id = case_of(cases, which)
    answer = client.get(f"/referrals/{referral_id}", headers=as_user(user))
    assert answer.status_code == 200
    if sees:
        assert answer.json()["crn"] == crn and "history" in answer.json() and "restricted" not in answer.json()
    else:
        assert answer.json() == RESTRICTED | {"referral_id": referral_id, "crn": crn}


@pytest.mark.parametrize("which,user,sees", WHO)
def test_a_persons_referrals_are_whole_or_restricted_alike(limited, as_user, which, user, sees):
    client, cases = limited
    crn, referral_id = case_of(cases, which)
    answer = client.get(f"/people/{crn}/referrals", headers=as_user(user)).json()
    if sees:
        assert referral_id in [r["referral_id"] for r in answer["referrals"]]
    else:
        assert answer == RESTRICTED | {"crn": crn}


@pytest.mark.parametrize("user,sees", [(ALLOWED, True), (EXCLUDED, False), (OTHER, True)])
def test_a_waiting_list_row_keeps_its_place_and_shows_only_its_ids_to_whoever_may_not_see_it(limited, as_user,
                                                                                             user, sees):
    client, cases = limited
    answer = client.get("/regions/RS/waiting-list", params={"limit": 500}, headers=as_user(user)).json()
    everyone = client.get("/regions/RS/waiting-list", params={"limit": 500}, headers=as_user(ALLOWED)).json()
    assert [r["referral_id"] for r in answer["items"]] == [r["referral_id"] for r in everyone["items"]]
    row = next(r for r in answer["items"] if r["referral_id"] == cases.excluded_referral)
    if sees:
        assert row["crn"] == cases.excluded_crn and "deadline" in row
    else:
        assert row == RESTRICTED | {"referral_id": cases.excluded_referral, "crn": cases.excluded_crn}
    assert sum("restricted" in r for r in answer["items"]) == (0 if sees else 1) + sum(
        r["crn"] == cases.restricted_crn for r in answer["items"]) * (user != ALLOWED)


@pytest.mark.parametrize("path,model", [("/regions/RS/waiting-list", WaitingList),
                                        ("/regions/RS/alerts", Page[Alert | RestrictedAlert])])
def test_a_page_of_kept_items_is_byte_for_byte_what_pydantic_writes_for_the_whole_page(limited, as_user, path,
                                                                                      model):
    """Pages splice in their items' JSON made once (api/responses.py); restricted rows are made per request."""
    client, _ = limited
    restricted = 0
    for offset in (0, 3):
        answer = client.get(path, params={"limit": 500, "offset": offset}, headers=as_user(EXCLUDED))
        page = model.model_validate_json(answer.content)
        restricted += sum(getattr(item, "restricted", False) for item in page.items)
        assert page.items and answer.content == page.model_dump_json().encode()
    assert restricted  # the excluded case's rows are among them
    with pytest.raises(TypeError, match="no items"):
        page_response(page, [])


@pytest.mark.parametrize("user,sees", [(ALLOWED, True), (EXCLUDED, False), (OTHER, False)])
def test_an_alert_about_a_restricted_case_shows_only_its_id_in_the_list_and_alone(limited, as_user, user, sees):
    client, cases = limited
    items = client.get("/regions/RS/alerts", params={"limit": 500}, headers=as_user(user)).json()["items"]
    listed = next(a for a in items if a["alert_id"] == cases.restricted_alert)
    alone = client.get(f"/regions/RS/alerts/{cases.restricted_alert}", headers=as_user(user)).json()
    if sees:
        assert listed["reason"] and alone["reason"] == listed["reason"] and "history" in alone
    else:
        assert listed == alone == RESTRICTED | {"alert_id": cases.restricted_alert, "region": "RS"}


def test_only_an_allowed_user_may_act_on_an_alert_about_a_restricted_case(limited, as_user):
    client, cases = limited
    path = f"/regions/RS/alerts/{cases.restricted_alert}/acknowledge"
    refused = client.post(path, json={"note": "seen"}, headers=as_user(OTHER, Role.OPS))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert cases.restricted_crn not in refused.text and "limited-access case" in refused.json()["detail"]
    assert client.get(f"/regions/RS/alerts/{cases.restricted_alert}",
                      headers=as_user(ALLOWED)).json()["workflow_state"] == "OPEN"  # nothing happened
    done = client.post(path, json={"note": "seen"}, headers=as_user(ALLOWED, Role.OPS))
    assert done.status_code == 200 and done.json()["workflow_state"] == "ACKNOWLEDGED"


def test_the_plan_lists_members_by_referral_id_whoever_asks(limited, as_user):
    """Cohort members are referral ids only, which a restricted row shows too: nothing more to hide there."""
    client, cases = limited
    cohort = client.get(f"/regions/RS/cohorts/{cases.cohort_id}", headers=as_user(EXCLUDED)).json()
    assert cohort["member_ids"] == client.get(f"/regions/RS/cohorts/{cases.cohort_id}",
                                              headers=as_user(ALLOWED)).json()["member_ids"] != []


# the audit of reads --------------------------------------------------------------------------------------
def audit_rows(cases: Cases) -> list[dict]:
    with sqlite3.connect(cases.database) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute("SELECT * FROM audit_reads ORDER BY id")]


READS = {  # path (formatted with the cases) → route template
    "/regions/RS/waiting-list?limit=3": "GET /regions/{region}/waiting-list",
    "/referrals/{restricted_referral}": "GET /referrals/{referral_id}",
    "/people/{restricted_crn}/referrals": "GET /people/{crn}/referrals",
    "/regions/RS/plan": "GET /regions/{region}/plan",
    "/regions/RS/cohorts/{cohort_id}": "GET /regions/{region}/cohorts/{cohort_id}",
    "/regions/RS/alerts?limit=5": "GET /regions/{region}/alerts",
    "/regions/RS/alerts/{restricted_alert}": "GET /regions/{region}/alerts/{alert_id}",
    "/people/{restricted_crn}/subject-access": "GET /people/{crn}/subject-access",
}


@pytest.mark.parametrize("path", sorted(READS))
def test_every_person_level_read_is_one_audit_row_naming_who_what_and_when(limited, as_user, path):
    client, cases = limited
    before = audit_rows(cases)
    started = datetime.now(timezone.utc)
    answer = client.get(path.format(**cases.__dict__), headers=as_user(ALLOWED, Role.ADMIN))
    assert answer.status_code == 200, answer.text
    new = audit_rows(cases)[len(before):]
    assert len(new) == 1
    row = new[0]
    assert (row["actor"], row["route"]) == (ALLOWED, READS[path])
    assert datetime.fromisoformat(row["at"]).replace(tzinfo=timezone.utc) >= started.replace(microsecond=0)
    crns, referral_ids = json.loads(row["crns"]), json.loads(row["referral_ids"])
    body = answer.text
    assert crns or referral_ids, "a person-level read names whom it showed"
    assert all(value in body for value in referral_ids)
    if "/alerts" not in path:  # an alert names its referral; the audit names the person too (its message key)
        assert all(crn in body for crn in crns)
    if "{" in path:
        assert set(json.loads(row["params"]).values()) <= {REGION, *cases.__dict__.values()}


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/metrics", "/openapi.json",
                                  "/referrals/NO-SUCH-REFERRAL", "/regions/RS/reports"])
def test_reads_without_person_level_data_and_refusals_are_not_audited(limited, as_user, path):
    client, cases = limited
    before = len(audit_rows(cases))
    assert client.get(path, headers=as_user(ALLOWED)).status_code in (200, 404)
    assert len(audit_rows(cases)) == before


# subject access --------------------------------------------------------------------------------------------
def test_subject_access_exports_every_part_held_on_a_person(limited, as_user):
    client, cases = limited
    client.get(f"/people/{cases.member_crn}/referrals", headers=as_user(OTHER))  # an audited read to find
    answer = client.get(f"/people/{cases.member_crn}/subject-access", headers=as_user(OTHER, Role.ADMIN))
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["crn"] == doc["person"]["crn"] == cases.member_crn
    assert doc["sentences"] and doc["requirements"]
    referral = doc["referrals"][0]
    assert referral["crn"] == cases.member_crn and referral["history"] and "deadline" in referral
    assert {a["referral_id"] for a in doc["allocations"]} <= {r["referral_id"] for r in doc["referrals"]}
    assert doc["allocations"]
    assert doc["events"]["processed"] and all(
        cases.member_crn in json.dumps(e["raw"]) or any(r["referral_id"] in json.dumps(e["raw"])
                                                        for r in doc["referrals"])
        for e in doc["events"]["processed"])
    assert {"person.updated", "referral.created"} <= {e["event_type"] for e in doc["events"]["processed"]}
    assert "allocation.made" in {m["event_type"] for m in doc["outbound"]}
    assert doc["overrides"] == []  # the planner_overrides table is there, with nothing on this person
    reads = doc["reads"]
    assert reads and reads[-1]["actor"] == OTHER and reads[-1]["route"] == "GET /people/{crn}/referrals"


def test_an_excluded_planner_may_neither_add_nor_remove_an_override_on_the_case(limited, as_user):
    client, cases = limited
    body = {"kind": "hold", "referral_id": cases.excluded_referral,
            "until": (date.today() + timedelta(days=30)).isoformat(), "reason": "awaiting assessment"}
    refused = client.post("/regions/RS/overrides", json=body, headers=as_user(EXCLUDED, Role.PLANNER))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert cases.excluded_crn not in refused.text and "limited-access case" in refused.json()["detail"]
    made = client.post("/regions/RS/overrides", json=body, headers=as_user(OTHER, Role.PLANNER))
    assert made.status_code == 201, made.text
    path = f"/regions/RS/overrides/{made.json()['override_id']}"
    assert client.delete(path, headers=as_user(EXCLUDED, Role.PLANNER)).status_code == 403
    assert client.delete(path, headers=as_user(OTHER, Role.PLANNER)).status_code == 204


def test_subject_access_has_the_alerts_their_actions_and_the_limited_access_rule(limited, as_user):
    client, cases = limited
    client.post(f"/regions/RS/alerts/{cases.restricted_alert}/assign", json={"user_id": "tm.user-8"},
                headers=as_user(ALLOWED, Role.OPS))
    doc = client.get(f"/people/{cases.restricted_crn}/subject-access", headers=as_user(ALLOWED, Role.ADMIN)).json()
    assert cases.restricted_alert in [a["alert_id"] for a in doc["alerts"]["open"]]
    assert {a["action"] for a in doc["alerts"]["actions"]} >= {"assign"}
    assert doc["limited_access"]["restrictions"] == [ALLOWED] and doc["limited_access"]["restricted"] is True
    assert {"alert.raised", "alert.assigned"} <= {m["event_type"] for m in doc["outbound"]}


def test_subject_access_of_a_restricted_case_is_refused_to_an_admin_it_does_not_allow(limited, as_user):
    client, cases = limited
    refused = client.get(f"/people/{cases.restricted_crn}/subject-access", headers=as_user(OTHER, Role.ADMIN))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


def test_subject_access_of_an_unknown_crn_is_404(limited, as_user):
    client, _ = limited
    assert client.get("/people/X999999999/subject-access", headers=as_user(OTHER, Role.ADMIN)).status_code == 404
