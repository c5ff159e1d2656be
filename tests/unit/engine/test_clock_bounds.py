"""Issue 18, class 1: no event may move the clock. One event dated 2099 is a dead letter naming the field,
its value and the bound; the planning clock and the plans stay where the other events put them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.domain.clock import ClockBounds
from engine.domain.rules import EngineRules
from engine.services.ingest import Ingestor, RawEvent, event_clock
from engine.services.planning import Planner
from engine.services.replay import Replay, read_lines
from solver.baselines import CurrentPracticeAllocator
from tests.support.events import T0, cohort_planned, event, facilitator, person_with_referral

TYPO = datetime(2099, 1, 1, tzinfo=timezone.utc)


def test_an_event_far_past_the_latest_accepted_is_a_dead_letter_naming_the_bound(store):
    db = store
    ingestor = Ingestor(db.uow, EngineRules())
    ingestor.process([RawEvent(line, "t", n) for n, line in enumerate(person_with_referral("X000001"), 1)])
    result = ingestor.process([RawEvent(event("person.updated", TYPO, crn="X000001", ldc=True), "t", 9)])
    assert result.dead_lettered == 1 and result.applied == 0
    with db.uow() as uow:
        assert event_clock(uow) < T0 + timedelta(days=30)
        assert uow.people.get("X000001").ldc is False
    reason = db.dead_letters(10)[0]["reason"]
    assert "occurred_at 2099-01-01T00:00:00Z" in reason and "92 days" in reason and "latest accepted" in reason


def test_on_the_wall_clock_an_event_dated_in_the_future_is_refused():
    bounds = ClockBounds(wall=True, skew=timedelta(minutes=10))
    now = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
    assert bounds.refusal(now + timedelta(minutes=5), None, now) is None
    reason = bounds.refusal(now + timedelta(hours=1), None, now)
    assert "after the wall clock 2026-12-05T12:00:00Z plus the allowed skew of 10 minutes" in reason


def test_on_the_event_clock_history_far_behind_the_wall_clock_is_accepted():
    bounds = ClockBounds()
    now = datetime(2026, 12, 5, tzinfo=timezone.utc)
    assert bounds.refusal(datetime(2020, 1, 1, tzinfo=timezone.utc), None, now) is None
    assert bounds.refusal(datetime(2020, 3, 1, tzinfo=timezone.utc), datetime(2020, 1, 1, tzinfo=timezone.utc), now) is None


@pytest.mark.parametrize("batch_size", [1, 2000])
def test_a_replay_with_one_event_dated_2099_plans_only_up_to_the_real_events(store, tmp_path, batch_size):
    lines = [*person_with_referral("X000001"), cohort_planned("C1", T0.date() + timedelta(days=40)),
             facilitator("F1"), facilitator("F2"), event("person.updated", TYPO, crn="X000001", ldc=True),
             event("person.updated", T0 + timedelta(days=60), crn="X000001", interpreter_needed=True)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    db, rules = store, EngineRules()
    summary = Replay(Ingestor(db.uow, rules), Planner(db.uow, CurrentPracticeAllocator(), rules),
                     timedelta(days=7), batch_size=batch_size).run(read_lines(path))
    assert summary.ingest.dead_lettered == 1
    assert 5 <= len(summary.plans) <= 10, "weekly plans up to day 60, not to 2099"
    assert max(p.as_of for p in summary.plans) < (T0 + timedelta(days=70)).date()
    with db.uow() as uow:
        assert uow.people.get("X000001").interpreter_needed is True  # later real events still apply


# Issue 18, class 6 lives here too: what the envelope says about ordering must match the payload.

def test_class6_an_event_keyed_by_one_crn_about_another_is_a_dead_letter(store):
    db = store
    ingestor = Ingestor(db.uow, EngineRules())
    result = ingestor.process([RawEvent(event("person.updated", T0, key="X000002", crn="X000001", region_code="RS"),
                                        "t", 1)])
    assert result.dead_lettered == 1
    with db.uow() as uow:
        assert uow.people.get("X000001") is None


def test_class6_a_merge_is_keyed_by_its_target_crn():
    from engine.events.decode import InvalidEvent, decode
    ok = decode(event("case.merged", T0, source_crn="X000001", target_crn="X000002"))
    assert ok.envelope.key == "X000002"
    with pytest.raises(InvalidEvent, match="key 'X000001' is not the payload's target_crn 'X000002'"):
        decode(event("case.merged", T0, key="X000001", source_crn="X000001", target_crn="X000002"))
