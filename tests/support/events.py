"""Factories for wire events: `event("sentence.imposed", crn=..., ...)` → one JSON line."""
from __future__ import annotations

import itertools
import json
import uuid
from datetime import date, datetime, timedelta, timezone

from engine.events.registry import EVENTS

_counter = itertools.count(1)
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


def event(event_type: str, at: datetime | None = None, key: str | None = None, event_id: str | None = None,
          **payload) -> str:
    n = next(_counter)
    body = {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in payload.items()}
    return json.dumps({
        "event_id": event_id or str(uuid.UUID(int=n, version=4)), "event_type": event_type,
        "schema_version": EVENTS[event_type].version if event_type in EVENTS else 1, "occurred_at": (at or T0 + timedelta(minutes=n)).isoformat(),
        "source": "test", "key": key or payload.get("target_crn") or payload.get("crn") or payload.get("region_code") or "RS",
        "payload": body})


def person_with_referral(crn: str, at: datetime = T0, programme: str = "BC-M", months: int = 24,
                         sex: str = "MALE", risk_ogrs3: float = 80.0, assessed: bool = True,
                         region: str = "RS", pdu: str = "RS-P01") -> list[str]:
    """A person sentenced with a programme requirement, referred and (optionally) assessed suitable."""
    sentence, requirement, referral = f"S-{crn}", f"RQ-{crn}", f"REF-{crn}"
    start = at.date()
    events = [
        event("person.updated", at, crn=crn, region_code=region, pdu_code=pdu, sex=sex),
        event("sentence.imposed", at + timedelta(minutes=1), crn=crn, sentence_id=sentence,
              sentence_type="COMMUNITY_ORDER", start_date=start, expected_end_date=start + timedelta(days=30 * months)),
        event("requirement.created", at + timedelta(minutes=2), crn=crn, sentence_id=sentence,
              requirement_id=requirement, programme_code=programme),
        event("referral.created", at + timedelta(days=3), crn=crn, referral_id=referral, requirement_id=requirement,
              programme_code=programme, referred_on=start + timedelta(days=3)),
    ]
    if assessed:
        events.append(event("referral.assessed", at + timedelta(days=20), crn=crn, referral_id=referral,
                            outcome="SUITABLE", pathway="MODERATE", ogrs3=risk_ogrs3, need_score=4))
    return events


def cohort_planned(cohort_id: str, start: date, at: datetime = T0, programme: str = "BC-M",
                   office: str = "RS-P01-O1", sex: str = "MALE", slots=((0, "10:00"), (2, "10:00")),
                   min_size: int | None = None) -> str:
    return event("cohort.planned", at, key="RS", cohort_id=cohort_id, region_code="RS", programme_code=programme,
                 pathway="MODERATE", office_code=office, pdu_code="RS-P01", sex=sex, offence_cohort="GENERAL_OFFENCE",
                 ldc=False, slots=[{"weekday": w, "start": t, "period": "EVENING" if t >= "17:00" else "DAYTIME"} for w, t in slots],
                 start_date=start, min_size=min_size)


def facilitator(facilitator_id: str, at: datetime = T0, programmes=("BC-M",), hours: float = 22.0,
                offices=("RS-P01-O1",)) -> str:
    return event("facilitator.registered", at, key="RS", facilitator_id=facilitator_id, region_code="RS",
                 home_pdu="RS-P01", programmes=list(programmes), offices=list(offices), weekly_hours=hours)
