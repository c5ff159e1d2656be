"""An alert as a rule states it: what, about whom (ids only), how bad, by when, and the numbers why."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Mapping


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

# Alerts not about one region (e.g. rejected events: a dead letter may not say where it came from).
ALL_REGIONS = "*"


@dataclass(frozen=True)
class Alert:
    """One open condition. The id is stable (kind + subject), so a sweep that finds the same
    condition again recognises it instead of raising it twice.

    ``numbers`` are the facts behind the reason (dates, counts, hours). They are what an update is
    judged on, so they must not drift by themselves (no "days left": that changes every day).
    """

    kind: str
    severity: Severity
    subject_type: str  # referral | cohort | facilitator | programme | event
    subject_id: str
    region_code: str
    reason: str
    act_by: date | None = None
    pdu_code: str | None = None
    key: str = ""  # the outbound message key (crn for people; the subject id otherwise)
    numbers: Mapping[str, int | float | str | None] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        return f"{self.kind}:{self.subject_type}:{self.subject_id}"

    def fingerprint(self) -> tuple:
        """What an ``alert.updated`` is about: the severity and the numbers. Not the act-by date: for a
        condition that persists it can move with the calendar, and that alone is not news."""
        return (str(self.severity), tuple(sorted((k, _plain(v)) for k, v in self.numbers.items())))


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value
