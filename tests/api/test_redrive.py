"""Dead-letter redrive (ADMIN): each letter re-read with today's schemas and applied through the idempotent intake;
what is still invalid stays, same id and position, with the new reason."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from engine.ports import DeadLetter

ADMIN = [Role.ADMIN]


@pytest.fixture
def engine(engine_copy):
    return engine_copy


@pytest.fixture
def api(engine, issuer) -> TestClient:
    return TestClient(create_app(engine, issuer.verifier(), run_jobs=False))


def set_aside(engine, raw: str, reason: str, line: int) -> None:
    """A dead letter as an older version of the intake would have left it."""
    with engine.database.uow() as uow:
        uow.dead_letter(DeadLetter("older-feed.jsonl", reason, raw, line), datetime.now(timezone.utc))
        uow.commit()


def letters(api, token) -> dict[int, dict]:
    return {x["id"]: x for x in api.get("/dead-letters", headers=token(ADMIN)).json()["items"]}


def a_new_person(region) -> str:
    """A valid person.updated for a person the region has not seen, dated at the region's last event."""
    lines = region.events.read_text().splitlines()
    event = next(json.loads(x) for x in lines if '"person.updated"' in x)
    last = max(json.loads(x)["occurred_at"] for x in lines if x.startswith('{"event_id"'))
    event |= {"event_id": "0b9c1f0e-4a57-4d1e-9a4a-3d1f7f7f0001", "occurred_at": last, "key": "X999001"}
    event["payload"] |= {"crn": "X999001"}
    return json.dumps(event)


def test_redrive_applies_what_reads_today_and_keeps_what_does_not_with_its_new_reason(
        region, engine, api, token):
    before = letters(api, token)
    set_aside(engine, a_new_person(region), "unknown event_type 'person.updated' (an older intake)", 7)
    applied_before = next(x for x in region.events.read_text().splitlines() if '"sentence.imposed"' in x)
    set_aside(engine, applied_before, "the database was unavailable", 9)
    done = api.post("/dead-letters/redrive", json={}, headers=token(ADMIN))
    assert done.status_code == 200, done.text
    answer = done.json()
    outcomes = {item["id"]: item["outcome"] for item in answer["items"]}
    assert answer["matched"] == answer["redriven"] == len(before) + 2
    assert sorted(outcomes.values()) == ["already_applied", "applied"] + ["still_invalid"] * len(before)
    assert answer["applied"] == 2 and answer["still_invalid"] == len(before)
    after = letters(api, token)
    assert set(after) == set(before), "the applied ones are gone; the invalid ones keep their ids"
    for letter_id, letter in after.items():
        assert (letter["origin"], letter["line_number"]) == (before[letter_id]["origin"],
                                                             before[letter_id]["line_number"])
        assert letter["reason"] == next(i["reason"] for i in answer["items"] if i["id"] == letter_id)
    assert engine.queries().person("X999001") is not None


def test_redrive_one_by_id_and_an_unknown_id_is_404(api, token):
    letter_id = min(letters(api, token))
    one = api.post(f"/dead-letters/{letter_id}/redrive", headers=token(ADMIN)).json()
    assert one["redriven"] == 1 and one["items"][0]["id"] == letter_id
    assert one["items"][0]["outcome"] == "still_invalid" and one["items"][0]["reason"].startswith("bad JSON")
    missing = api.post("/dead-letters/999999/redrive", headers=token(ADMIN))
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]


def test_redrive_by_origin_touches_only_that_origin(engine, region, api, token):
    set_aside(engine, a_new_person(region), "refused by an older intake", 3)
    done = api.post("/dead-letters/redrive", json={"origin": "older-feed.jsonl"}, headers=token(ADMIN)).json()
    assert done["matched"] == 1 and done["items"][0]["outcome"] == "applied"
    assert all(x["origin"] != "older-feed.jsonl" for x in letters(api, token).values())
