"""events.dead_lettered: more events than the threshold rejected in the last hour (about no one region)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import ALL_REGIONS, Severity
from engine.alerts.rules import dead_letters as rule
from tests.unit.alerts.factories import TODAY, active, inputs, only, thresholds

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
    assert alert.act_by == TODAY  # the day of the first rejection in the hour
    assert dict(alert.numbers) == {"threshold": 3, "over_threshold_times": 1}
    assert alert.reason == ("4 events rejected to dead letters in the hour to 2025-03-03 10:00 UTC "
                            "(more than 1× the threshold of 3); most from delius (3), oasys (1)")


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
    assert rule.cleared(changes.cleared[0], calmer) == "2 rejected in the last hour"
    assert rule.cleared(changes.cleared[0], inputs(region_code=ALL_REGIONS, now=NOW)) == "0 rejected in the last hour"


def test_a_new_band_is_an_update_and_ten_times_is_critical():
    alert = only(evaluate(letters(4)))
    [(now, before)] = reconcile(evaluate(letters(7)), active(alert)).updated
    assert before["numbers"]["over_threshold_times"] == 1 and now.numbers["over_threshold_times"] == 2
    assert now.severity is Severity.WARNING

    [(now, before)] = reconcile(evaluate(letters(40)), active(alert)).updated
    assert before["severity"] == "WARNING" and now.severity is Severity.CRITICAL
    assert now.alert_id == alert.alert_id


def test_act_by_is_the_date_of_the_first_rejection_in_the_hour():
    just_after_midnight = datetime(2025, 3, 4, 0, 20, tzinfo=timezone.utc)
    dead = letters(4, first=datetime(2025, 3, 3, 23, 40, tzinfo=timezone.utc))
    assert only(evaluate(dead, now=just_after_midnight)).act_by == date(2025, 3, 3)
