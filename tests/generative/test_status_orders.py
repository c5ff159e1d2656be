"""Any arrival order of a referral's valid status changes within the park timeout ends in the ordered replay's
status (docs/events.md, "Status changes out of order"; the fault suite's finding in docs/RELIABILITY.md).

A history here is one referral (tests.support.events.person_with_referral, not yet assessed) and a walk of 1-7
status events along the graph that an upstream system could send in that order: ``referral.assessed`` (suitable,
suitable but not ready or not suitable) while it awaits assessment, or a suitable reassessment on the waiting
list; ``referral.status_changed`` to any status the graph allows from the one before (never Scheduled: only an
allocation schedules), or re-stating the current one. Each event is 1-20 hours after the one before, so the walk
spans less than the park timeout (168 h). Fed in event order it applies whole (no dead letter); the same events
in a drawn permutation, in one batch or one message per batch, must end in the same status, with no dead
letter and nothing left waiting. On the in-memory store: hundreds of examples take seconds.

The counterexample the property shrank to on the engine before the fix is pinned in
tests/unit/engine/test_status_order.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import given, note
from hypothesis import strategies as st

from engine.domain.statuses import ALLOCATION_ONLY, TRANSITIONS, ReferralStatus as S
from tests.generative.strategies import generative
from tests.support.events import T0, event, person_with_referral
from tests.unit.engine.harness import Harness

CRN, REF = "X000041", "REF-X000041"
START = T0 + timedelta(days=21)  # after the world's events (referral.created on day 3)
OUTCOMES = {"SUITABLE": S.AWAITING_ALLOCATION, "SUITABLE_NOT_READY": S.SUITABLE_NOT_READY,
            "NOT_SUITABLE": S.RETURN_TO_COURT}


@dataclass(frozen=True)
class Step:
    at: datetime
    kind: str  # referral.assessed or referral.status_changed
    value: str  # the outcome or the status asked for
    line: str

    def __repr__(self) -> str:
        return f"{self.at:%m-%d %H:%M} {self.kind} {self.value}"


def _line(kind: str, at: datetime, value: str) -> str:
    if kind == "referral.assessed":
        return event(kind, at, crn=CRN, referral_id=REF, outcome=value, pathway="MODERATE", ogrs3=80.0, need_score=4)
    return event(kind, at, crn=CRN, referral_id=REF, to_status=value)


@st.composite
def walks(draw) -> tuple[Step, ...]:
    """A referral's status events an upstream system could send in this order (module docstring)."""
    status, at, steps = S.AWAITING_ASSESSMENT, START, []
    for _ in range(draw(st.integers(1, 7))):
        if status.closed:
            break
        at += timedelta(hours=draw(st.integers(1, 20)), minutes=len(steps))
        choices = [("referral.status_changed", s.value) for s in sorted(TRANSITIONS[status] - ALLOCATION_ONLY)]
        choices.append(("referral.status_changed", status.value))  # re-stating the current status
        if status == S.AWAITING_ASSESSMENT:
            choices += [("referral.assessed", outcome) for outcome in OUTCOMES]
        elif status == S.AWAITING_ALLOCATION:
            choices.append(("referral.assessed", "SUITABLE"))  # a reassessment
        kind, value = draw(st.sampled_from(choices))
        steps.append(Step(at, kind, value, _line(kind, at, value)))
        status = OUTCOMES[value] if kind == "referral.assessed" else S(value)
    return tuple(steps)


@dataclass(frozen=True)
class Arrival:
    """A walk in event order, the same events in a drawn arrival order, and whether each comes alone."""

    walk: tuple[Step, ...]
    permuted: tuple[Step, ...]
    one_by_one: bool

    def __repr__(self) -> str:
        show = lambda steps: "\n    ".join(map(repr, steps))  # noqa: E731
        return (f"Arrival(one_by_one={self.one_by_one}\n  in event order:\n    {show(self.walk)}\n"
                f"  arriving:\n    {show(self.permuted)})")

    def _repr_pretty_(self, printer, cycle) -> None:  # Hypothesis prints dataclasses field by field otherwise
        printer.text(repr(self))


@st.composite
def arrivals(draw) -> Arrival:
    walk = draw(walks())
    return Arrival(walk, tuple(draw(st.permutations(walk))), draw(st.booleans()))


def final_status(steps: tuple[Step, ...], one_by_one: bool) -> tuple[Harness, S]:
    h = Harness()
    h.feed(*person_with_referral(CRN, assessed=False))
    if one_by_one:
        for step in steps:
            h.feed(step.line)
    else:
        h.feed(*(step.line for step in steps))
    return h, h.referral(REF).status


@generative(300)
@given(arrivals())
def test_any_arrival_order_of_a_referrals_status_changes_ends_in_the_ordered_replays_status(case: Arrival):
    note(repr(case))
    ordered, expected = final_status(case.walk, one_by_one=False)
    assert ordered.dead_letters() == [], "the walk is not valid in event order"
    h, status = final_status(case.permuted, case.one_by_one)
    assert [letter["reason"] for letter in h.dead_letters()] == []
    assert status == expected
    with h.db.uow() as uow:
        assert uow.earliest_parked() is None, "a status change is still waiting"
