"""events.dead_lettered: more events than the threshold rejected in the last hour (about no one region).

The hour is on the server clock (``received_at``, ``now``); the plan date (``today``) plays no part."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import ALL_REGIONS, Severity
from engine.alerts.rules import dead_letters as rule
from tests.unit.alerts.factories import active, inputs, only, stored, thresholds

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)


def letters(n: int, origin: str = "delius", first: datetime = NOW - timedelta(minutes=50)):
    return [(first + timedelta(minutes=k), origin) for k in range(n)]


def evaluate(dead, limit: int = 3, now: datetime = NOW):
    return rule.evaluate(inputs(region_code=ALL_REGIONS, today=now.date(), now=now, dead_letters=dead),
                         thresholds(dead_letters_per_hour=limit))


def test_raises_a_warning_one_over_the_threshold():
    dead = letters(3, "delius") + letters(1, "oasys", first=NOW - timedelta(minutes=5))
    alert = only(evaluate(dead))
    assert alert.kind == "events.dead_lettered" == rule.KIND and rule.SCOPE == "global"
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id) == ("event", "dead-letters")
    assert alert.region_code == ALL_REGIONS == "*"
    assert alert.pdu_code is None and alert.key == "dead-letters"
    assert alert.act_by is None  # act-by dates are on the plan calendar; this alert is on the server clock
    assert dict(alert.numbers) == {"threshold": 3, "over_threshold_times": 1}
    assert alert.reason == ("4 events rejected to dead letters in the hour to 2025-03-03 10:00 UTC by the server "
                            "clock (time received); more than 1× the threshold of 3; most from delius (3), oasys (1)")


def test_quiet_exactly_at_the_threshold():
    assert evaluate(letters(3)) == []
    assert evaluate([]) == []
    assert evaluate(letters(10), limit=10) == []


@pytest.mark.parametrize("count, band, severity", [
    (4, 1, Severity.WARNING),
    (6, 1, Severity.WARNING),
    (7, 2, Severity.WARNING),
    (16, 5, Severity.WARNING),
    (30, 5, Severity.WARNING),  # exactly 10× is not more than 10×
    (31, 10, Severity.CRITICAL),
    (301, 100, Severity.CRITICAL),
])
def test_bands_and_severity(count, band, severity):
    alert = only(evaluate(letters(count)))
    assert alert.numbers["over_threshold_times"] == band and alert.severity is severity
    assert f"{count} events" in alert.reason and f"more than {band}×" in alert.reason


def test_a_zero_threshold_raises_on_the_first_rejection():
    alert = only(evaluate(letters(1), limit=0))
    assert alert.numbers == {"threshold": 0, "over_threshold_times": 1}


def test_only_the_three_commonest_origins_are_named():
    dead = letters(4, "a") + letters(3, "b") + letters(2, "c") + letters(1, "d")
    alert = only(evaluate(dead))
    assert alert.reason.endswith("most from a (4), b (3), c (2)") and "d (1)" not in alert.reason


def test_clears_below_the_threshold_and_does_not_repeat_or_update_within_a_band():
    alert = only(evaluate(letters(4)))
    open_ = active(alert)
    assert not reconcile(evaluate(letters(4)), open_)
    assert not reconcile(evaluate(letters(6)), open_)  # more letters, same band: no update per event

    changes = reconcile(evaluate(letters(2)), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == ["events.dead_lettered:event:dead-letters"]
    calmer = inputs(region_code=ALL_REGIONS, now=NOW, dead_letters=letters(2))
    assert rule.cleared(changes.cleared[0], calmer) == (
        "2 rejected in the hour to 2025-03-03 10:00 UTC by the server clock (time received)")
    assert rule.cleared(changes.cleared[0], inputs(region_code=ALL_REGIONS, now=NOW)) == (
        "0 rejected in the hour to 2025-03-03 10:00 UTC by the server clock (time received)")


def test_a_new_band_is_an_update_and_ten_times_is_critical():
    alert = only(evaluate(letters(4)))
    [(now, before)] = reconcile(evaluate(letters(7)), active(alert)).updated
    assert before["numbers"]["over_threshold_times"] == 1 and now.numbers["over_threshold_times"] == 2
    assert now.severity is Severity.WARNING

    [(now, before)] = reconcile(evaluate(letters(40)), active(alert)).updated
    assert before["severity"] == "WARNING" and now.severity is Severity.CRITICAL
    assert now.alert_id == alert.alert_id


def test_in_a_replay_the_alert_speaks_only_the_server_clock():
    """A replay sweeps as of event-time plan dates while letters are received now: the alert used to say
    "in the hour to <wall clock>" yet act by the wall date, which sits among plan-calendar act-by dates."""
    plan_day = date(2024, 11, 25)  # the replay's plan date, months before the wall clock
    dead = letters(4, first=NOW - timedelta(minutes=30))
    replay = inputs(region_code=ALL_REGIONS, today=plan_day, now=NOW, dead_letters=dead)
    alert = only(rule.evaluate(replay, thresholds(dead_letters_per_hour=3)))
    assert alert.act_by is None
    assert "in the hour to 2025-03-03 10:00 UTC by the server clock (time received)" in alert.reason
    assert "2024-11-25" not in alert.reason
    assert rule.cleared(stored(alert), replace(replay, dead_letters=())) == (
        "0 rejected in the hour to 2025-03-03 10:00 UTC by the server clock (time received)")


def test_the_hour_is_told_in_utc_whatever_the_zone_of_now():
    bst = timezone(timedelta(hours=1))
    alert = only(evaluate(letters(4), now=NOW.astimezone(bst)))
    assert "in the hour to 2025-03-03 10:00 UTC" in alert.reason
