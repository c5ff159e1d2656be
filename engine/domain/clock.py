"""How far an event's own time may run ahead, so one mistyped timestamp cannot move the planning clock.

Two clocks drive planning (docs/events.md, "Clocks"):
- **wall** (production): plans are as of today; an event dated later than the wall clock plus a small
  skew is refused, so nothing can make the service plan in the future.
- **event** (the embedded replay, and a service fed history or a simulation): plans are as of the
  latest event time applied; an event dated more than ``max_jump`` past both the latest accepted event
  and the wall clock is refused, so a year-2099 typo cannot carry every later plan to 2099 — even as the
  first message a fresh engine sees — while history, however old and however long its quiet gaps, is
  never refused for its dates (an event years back does not make every later one look like a jump).
A refused event is a dead letter whose reason names the field, its value and the bound.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ClockBounds:
    wall: bool = False
    skew: timedelta = timedelta(minutes=10)
    max_jump: timedelta = timedelta(days=92)

    def refusal(self, occurred_at: datetime, latest: datetime | None, now: datetime) -> str | None:
        """Why ``occurred_at`` is out of bounds, or None. ``latest`` is the latest event time accepted."""
        if self.wall and occurred_at > now + self.skew:
            return (f"occurred_at {occurred_at:%Y-%m-%dT%H:%M:%SZ} is after the wall clock {now:%Y-%m-%dT%H:%M:%SZ} "
                    f"plus the allowed skew of {_span(self.skew)} (COHORTPLAN_CLOCK_SKEW_MINUTES)")
        if not self.wall and occurred_at > _later(latest, now) + self.max_jump:
            return (f"occurred_at {occurred_at:%Y-%m-%dT%H:%M:%SZ} is more than {_span(self.max_jump)} after the "
                    f"latest accepted event time {_at(latest)} and after the wall clock {now:%Y-%m-%dT%H:%M:%SZ} "
                    f"(COHORTPLAN_CLOCK_MAX_JUMP_DAYS)")
        return None


def _later(latest: datetime | None, now: datetime) -> datetime:
    return max(latest, now) if latest is not None else now


def _at(value: datetime | None) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%SZ}" if value is not None else "(none yet)"


def _span(delta: timedelta) -> str:
    if delta >= timedelta(days=1) and delta % timedelta(days=1) == timedelta(0):
        return f"{delta.days} days"
    return f"{int(delta / timedelta(minutes=1))} minutes"
