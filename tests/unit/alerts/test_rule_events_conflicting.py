"""events.conflicting_duplicate: an event id arrived again with other content; no threshold."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import ALL_REGIONS, Severity
from engine.alerts.rules import dead_letters
from engine.alerts.rules import events_conflicting as rule
from tests.unit.alerts.factories import active, inputs, only, thresholds

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
HOUR = "in the hour to 2025-03-03 10:00 UTC by the server clock (time received)"


def letters(*origins: str):
    return [(NOW - timedelta(minutes=50 - k), origin) for k, origin in enumerate(origins)]


def conflict(topic: str = "delius.person.updated") -> str:
    return f"{topic} (conflicting duplicate)"


def evaluate(dead, limit: int = 10):
    return rule.evaluate(inputs(region_code=ALL_REGIONS, today=NOW.date(), now=NOW, dead_letters=dead),
                         thresholds(dead_letters_per_hour=limit))


def test_one_conflicting_duplicate_raises_whatever_the_dead_letter_threshold():
    dead = letters(conflict())
    assert dead_letters.evaluate(inputs(region_code=ALL_REGIONS, now=NOW, dead_letters=dead),
                                 thresholds(dead_letters_per_hour=10)) == []
    alert = only(evaluate(dead, limit=10))
    assert alert.kind == "events.conflicting_duplicate" == rule.KIND and rule.SCOPE == "global"
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.key) == ("event", "conflicting-duplicates",
                                                                 "conflicting-duplicates")
    assert alert.region_code == ALL_REGIONS and alert.pdu_code is None
    assert alert.act_by is None  # the server clock, not the plan calendar
    assert dict(alert.numbers) == {"count": 1}
    assert alert.reason == (
        f"1 event(s) arrived again with the same event id and different content {HOUR}, from "
        "delius.person.updated; the first copy stands — compare both copies with `cohortplan deadletters` and, "
        "if the second was meant, have the producer send it with a new event id")


def test_counts_only_conflicting_duplicates_and_names_three_sources():
    dead = letters(conflict("d"), conflict("a"), "bad-json", conflict("c"), conflict("b"), conflict("a"),
                   "oasys (parked event expired)")
    alert = only(evaluate(dead, limit=0))
    assert alert.numbers == {"count": 5}
    assert alert.reason.startswith("5 event(s)") and f"{HOUR}, from a, b, c;" in alert.reason
    assert "bad-json" not in alert.reason and "oasys" not in alert.reason and "from a, b, c, d" not in alert.reason


@pytest.mark.parametrize("dead", [
    [],
    letters("delius", "oasys (parked event expired)"),
    letters("delius (conflicting duplicate) later"),  # the label must end the origin
])
def test_quiet_without_a_conflicting_duplicate(dead):
    assert evaluate(dead, limit=0) == []


def test_updates_per_conflict_and_clears_when_the_hour_has_none():
    alert = only(evaluate(letters(conflict())))
    open_ = active(alert)
    assert not reconcile(evaluate(letters(conflict(), "bad-json")), open_)
    [(now, before)] = reconcile(evaluate(letters(conflict(), conflict("oasys"))), open_).updated
    assert before["numbers"] == {"count": 1} and now.numbers == {"count": 2}

    calm = letters("bad-json")
    changes = reconcile(evaluate(calm), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["events.conflicting_duplicate:event:conflicting-duplicates"]
    assert rule.cleared(changes.cleared[0], inputs(region_code=ALL_REGIONS, now=NOW, dead_letters=calm)) == (
        f"no conflicting duplicates {HOUR}")
