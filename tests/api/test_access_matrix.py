"""Every route × who calls it: no token (401), a wrong role (403), a wrong region (404), the right one (2xx).

The matrix must name every route the app has: a route added without a row here fails
``test_every_route_of_the_app_is_in_the_matrix``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pytest
from starlette.routing import BaseRoute

from api.auth import Role

OTHER_REGION = "RW"


@dataclass(frozen=True)
class Access:
    """Who may call a route: ``roles`` (empty: anyone, no token needed) and whether it is one region's."""

    roles: frozenset[Role] = frozenset()
    regional: bool = False
    body: dict = field(default_factory=dict)  # what a POST sends (each allowed role acts on an alert of its own)
    status: int = 200  # what the right caller gets


PUBLIC = Access()
READERS = Access(frozenset(Role), regional=True)
ACTORS = frozenset({Role.OPS, Role.ADMIN})
PLANNERS = frozenset({Role.PLANNER, Role.ADMIN})

MATRIX: dict[tuple[str, str], Access] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/regions/{region}/waiting-list"): READERS,
    ("GET", "/referrals/{referral_id}"): READERS,
    ("GET", "/people/{crn}/referrals"): READERS,
    ("GET", "/people/{crn}/subject-access"): Access(frozenset({Role.ADMIN}), regional=True),
    ("GET", "/regions/{region}/plan"): READERS,
    ("GET", "/regions/{region}/cohorts/{cohort_id}"): READERS,
    ("GET", "/regions/{region}/alerts"): READERS,
    ("GET", "/regions/{region}/alerts/{alert_id}"): READERS,
    ("POST", "/regions/{region}/alerts/{alert_id}/acknowledge"): Access(ACTORS, True, {"note": "seen"}),
    ("POST", "/regions/{region}/alerts/{alert_id}/assign"): Access(ACTORS, True, {"user_id": "tm.user-3"}),
    ("POST", "/regions/{region}/alerts/{alert_id}/snooze"): Access(
        ACTORS, True, {"until": (date.today() + timedelta(days=7)).isoformat()}),
    ("POST", "/regions/{region}/alerts/{alert_id}/resolve"): Access(ACTORS, True, {"note": "done"}),
    ("GET", "/regions/{region}/reports"): READERS,
    ("GET", "/regions/{region}/reports/{as_of}"): READERS,
    ("GET", "/regions/{region}/reports/{as_of}/report.html"): READERS,
    ("GET", "/regions/{region}/reports/{as_of}/tables/{table}.csv"): READERS,
    ("GET", "/dead-letters"): Access(frozenset({Role.ADMIN})),
    ("POST", "/dead-letters/{letter_id}/redrive"): Access(frozenset({Role.ADMIN})),
    ("POST", "/dead-letters/redrive"): Access(frozenset({Role.ADMIN}), body={"origin": "no-such-file.jsonl"}),
    ("POST", "/regions/{region}/replan"): Access(PLANNERS, True, {"time_limit_s": 1}, 202),
    ("POST", "/regions/{region}/what-if"): Access(PLANNERS, True, {"allocator": "fifo"}, 202),
    ("POST", "/regions/{region}/fte-sweep"): Access(PLANNERS, True, {"allocator": "fifo", "target_miss_pct": 10}, 202),
    ("GET", "/jobs/{job_id}"): READERS,
    ("GET", "/regions/{region}/overrides"): READERS,
    ("POST", "/regions/{region}/overrides"): Access(PLANNERS, True, {
        "kind": "hold", "referral_id": "{referral_id}", "until": "{until}", "reason": "in hospital"}, 201),
    ("DELETE", "/regions/{region}/overrides/{override_id}"): Access(PLANNERS, True, status=204),
}


def app_routes(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    """(method, path) of every route, inside included routers too (FastAPI keeps those as one entry holding
    the router; the API includes its routers without a prefix)."""
    out = set()
    for route in routes:
        if hasattr(route, "original_router"):
            out |= app_routes(route.original_router.routes)
        out |= {(method, route.path) for method in getattr(route, "methods", None) or () if method != "HEAD"}
    return out


def test_every_route_of_the_app_is_in_the_matrix(client):
    assert app_routes(client.app.routes) == set(MATRIX)


@pytest.fixture(scope="module")
def examples(client, token) -> dict[str, str]:
    """Real ids of the replayed region for the path parameters."""
    headers = token()
    waiting = client.get("/regions/RS/waiting-list", params={"limit": 1}, headers=headers).json()["items"][0]
    cohort = client.get("/regions/RS/plan", headers=headers).json()["cohorts"][0]
    report = client.get("/regions/RS/reports", headers=headers).json()["items"][0]
    alert = client.get("/regions/RS/alerts", params={"limit": 1}, headers=headers).json()["items"][0]
    return {"region": "RS", "referral_id": waiting["referral_id"], "crn": waiting["crn"],
            "cohort_id": cohort["cohort_id"], "as_of": report["as_of"], "table": report["tables"][0]["name"],
            "alert_id": alert["alert_id"]}


@pytest.fixture(scope="module")
def writable_ids(writable_client, token) -> dict[str, str]:
    """A job of the writable copy's region (queued: no runner runs in this module) and one of its dead letters."""
    job = writable_client.post("/regions/RS/what-if", json={"allocator": "fifo"}, headers=token([Role.PLANNER]))
    letters = writable_client.get("/dead-letters", headers=token([Role.ADMIN])).json()["items"]
    return {"job_id": job.json()["job_id"], "letter_id": str(letters[0]["id"])}


@pytest.fixture(scope="module")
def untouched_alerts(writable_client, token) -> Iterator[str]:
    """Open alerts of the writable copy that no test here has acted on yet, one at a time."""
    items = writable_client.get("/regions/RS/alerts", params={"limit": 500}, headers=token()).json()["items"]
    return iter([a["alert_id"] for a in items])


@pytest.fixture(scope="module")
def fresh_overrides(writable_client, token) -> Iterator[dict[str, str]]:
    """A waiting referral of the writable copy no test here has held, and a hold of another one to remove."""
    waiting = iter([w["referral_id"] for w in writable_client.get(
        "/regions/RS/waiting-list", params={"limit": 500}, headers=token()).json()["items"]])
    as_of = date.fromisoformat(writable_client.get("/regions/RS/plan", headers=token()).json()["as_of"])
    until = (as_of + timedelta(days=14)).isoformat()

    def values() -> Iterator[dict[str, str]]:
        while True:
            referral, removable = next(waiting), next(waiting)
            made = writable_client.post("/regions/RS/overrides", headers=token([Role.ADMIN]), json={
                "kind": "hold", "referral_id": removable, "until": until, "reason": "to remove"})
            yield {"referral_id": referral, "until": until, "override_id": made.json()["override_id"]}
    return values()


def fresh_override_call(fresh: dict[str, str], template: str, examples: dict, access: Access) -> tuple[str, dict]:
    body = {k: v.format(**fresh) if isinstance(v, str) else v for k, v in access.body.items()}
    return template.format(**examples | fresh), ({"json": body} if body else {})


@pytest.mark.parametrize("method,template", sorted(MATRIX))
def test_route_answers_each_caller_as_its_access_says(request, token, examples, method, template):
    access = MATRIX[(method, template)]
    writable = method in ("POST", "DELETE") or "{job_id}" in template
    path = template.format(**examples | {"override_id": "ov-000000"} | (
        request.getfixturevalue("writable_ids") if writable else {}))
    client = request.getfixturevalue("writable_client" if writable else "client")
    kwargs = {"json": access.body} if method == "POST" else {}
    if not access.roles:
        assert client.request(method, path).status_code == 200
        return
    anonymous = client.request(method, path, **kwargs)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert client.request(method, path, headers={"Authorization": "Bearer not-a-jwt"}, **kwargs).status_code == 401
    others = sorted(set(Role) - access.roles)
    wrong_role = client.request(method, path, headers=token(roles=others), **kwargs)
    assert wrong_role.status_code == 403 and wrong_role.json()["status"] == 403
    allowed = sorted(access.roles)
    if access.regional:
        elsewhere = client.request(method, path, headers=token(roles=allowed, regions=[OTHER_REGION]), **kwargs)
        assert elsewhere.status_code == 404, elsewhere.text
        assert "RS" not in elsewhere.json().get("known", []), "another region's codes are not disclosed"
    for role in allowed:
        if "{alert_id}" in template and method == "POST":
            path = template.format(**examples | {"alert_id": next(request.getfixturevalue("untouched_alerts"))})
        if "/overrides" in template and method != "GET":  # each role adds (or removes) an override of its own
            path, kwargs = fresh_override_call(next(request.getfixturevalue("fresh_overrides")), template, examples,
                                               access)
        right = client.request(method, path, headers=token(roles=[role]), **kwargs)
        assert right.status_code == access.status, right.text
        if access.status == 202:  # the job is left as a runner would leave it, so the next role's is not a duplicate
            client.app.state.jobs.finish(right.json()["job_id"], datetime.now(timezone.utc), error="not run here")
