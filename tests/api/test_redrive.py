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


def test_redriving_an_expired_event_keeps_its_letter_until_what_it_waited_for_arrives(region, engine, api, token):
    """An event that expired is kept beside its letter: a redrive says so and leaves the letter as it is (its
    reason still says it expired); when its partner arrives it is re-admitted and the letter removed."""
    from datetime import timedelta

    from engine.services.ingest import RawEvent
    from tests.support.events import event, person_with_referral

    lines = region.events.read_text().splitlines()
    last = max(datetime.fromisoformat(json.loads(x)["occurred_at"]) for x in lines if x.startswith('{"event_id"'))
    region_code = json.loads(next(x for x in lines if '"person.updated"' in x))["payload"]["region_code"]
    pdu = json.loads(next(x for x in lines if '"person.updated"' in x))["payload"]["pdu_code"]
    person, sentence, requirement, referral = person_with_referral("X999002", at=last, region=region_code,
                                                                  pdu=pdu, assessed=False)
    engine.ingestor.process([RawEvent(referral, "late-feed.jsonl", 1)])
    tick = event("person.updated", last + timedelta(days=12), crn="X999003", region_code=region_code, pdu_code=pdu)
    assert engine.ingestor.process([RawEvent(tick, "late-feed.jsonl", 2)]).expired == 1
    [(letter_id, letter)] = [(k, v) for k, v in letters(api, token).items() if v["origin"] == "late-feed.jsonl"]
    assert letter["reason"].startswith("parked event expired")

    again = api.post(f"/dead-letters/{letter_id}/redrive", headers=token(ADMIN)).json()
    assert again["items"][0]["outcome"] == "still_invalid"
    assert "re-admitted" in again["items"][0]["reason"]
    assert letters(api, token)[letter_id]["reason"] == letter["reason"]  # left as it was

    done = engine.ingestor.process([RawEvent(x, "late-feed.jsonl", 3 + n)
                                    for n, x in enumerate((person, sentence, requirement))])
    assert done.readmitted == 1
    assert letter_id not in letters(api, token)
    assert engine.queries().referral_crn("REF-X999002") == "X999002"
