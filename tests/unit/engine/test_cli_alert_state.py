"""`cohortplan alerts` shows where ops staff are with each alert (the API's workflow state)."""
from __future__ import annotations

from datetime import date

import pytest

from engine.cli import _workflow


@pytest.mark.parametrize("row, shown", [
    ({}, "OPEN"),                                                       # stored before the workflow existed
    ({"workflow_state": "ACKNOWLEDGED"}, "ACKNOWLEDGED"),
    ({"workflow_state": "ASSIGNED", "assigned_to": "tm.user-3"}, "ASSIGNED → tm.user-3"),
    ({"workflow_state": "SNOOZED", "snoozed_until": date(2026, 12, 1)}, "SNOOZED until 2026-12-01"),
    ({"workflow_state": "SNOOZED", "assigned_to": "ops-1", "snoozed_until": date(2026, 12, 1)},
     "SNOOZED → ops-1 until 2026-12-01"),
])
def test_the_state_column_names_the_state_the_assignee_and_the_snooze_date(row, shown):
    assert _workflow(row) == shown
