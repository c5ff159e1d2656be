"""Errors are RFC 9457 problem+json: 422 names the field and why, 404 names the unknown thing, no 500s."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app

PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize("query,field", [
    ({"limit": 0}, "query.limit"), ({"limit": 501}, "query.limit"), ({"offset": -1}, "query.offset"),
    ({"sex": "OTHER"}, "query.sex"), ({"status": "SCHEDULED"}, "query.status"), ({"ldc": "maybe"}, "query.ldc"),
    ({"as_of": "yesterday"}, "query.as_of"), ({"as_of": "9999-12-31"}, "query.as_of"),
    ({"pdu": "x" * 41}, "query.pdu"), ({"pdu": "\x00"}, "query.pdu"), ({"colour": "red"}, "query.colour"),
    ({"programme": "ZZZ"}, "query.programme"),
])
def test_a_bad_filter_is_a_422_naming_the_field_and_why(client, token, query, field):
    body = problem(client.get("/regions/RS/waiting-list", params=query, headers=token()), 422)
    assert [p["name"] for p in body["invalid_params"]] == [field]
    assert body["invalid_params"][0]["reason"] and field in body["detail"]


def test_an_unknown_programme_or_alert_kind_names_the_known_ones(client, token):
    body = problem(client.get("/regions/RS/waiting-list", params={"programme": "ZZZ"}, headers=token()), 422)
    assert "'BC-M'" in body["invalid_params"][0]["reason"]
    body = problem(client.get("/regions/RS/alerts", params={"kind": "deadline.nope"}, headers=token()), 422)
    assert "'deadline.at_risk'" in body["invalid_params"][0]["reason"]
    assert body["invalid_params"][0]["name"] == "query.kind.0"


@pytest.mark.parametrize("path,field", [("/referrals/bad$id", "path.referral_id"),
                                        ("/people/" + "X" * 17 + "/referrals", "path.crn"),
                                        ("/regions/R%20S/plan", "path.region")])
def test_a_malformed_id_is_a_422_naming_the_path_parameter(client, token, path, field):
    body = problem(client.get(path, headers=token()), 422)
    assert body["invalid_params"][0]["name"] == field


def test_an_unknown_region_is_a_404_naming_the_regions_the_caller_may_see(client, token):
    body = problem(client.get("/regions/RX/plan", headers=token(regions=["RS", "RW"])), 404)
    assert "'RX'" in body["detail"] and body["known"] == ["RS"], "RW has no data: it does not exist here"


@pytest.mark.parametrize("path,what", [("/referrals/REF-999999", "referral 'REF-999999'"),
                                       ("/people/X999999/referrals", "person with crn 'X999999'"),
                                       ("/regions/RS/cohorts/RS-COH-999999", "cohort in region RS 'RS-COH-999999'")])
def test_an_unknown_id_is_a_404_naming_it(client, token, path, what):
    assert what in problem(client.get(path, headers=token()), 404)["detail"]


def test_unknown_routes_and_methods_are_problems_too(client, token):
    assert "/nowhere" in problem(client.get("/nowhere"), 404)["detail"]
    problem(client.post("/health"), 405)


def test_a_bug_is_a_500_problem_that_shows_nothing_of_it(region, issuer):
    app = create_app(region.engine, issuer.verifier())

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    body = problem(TestClient(app, raise_server_exceptions=False).get("/boom"), 500)
    assert "secret" not in body["detail"]
