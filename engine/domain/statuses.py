"""The referral status graph as probation staff use it (Manage & Deliver names and nDelius codes).

Every transition outside :data:`TRANSITIONS` is rejected with an error naming both statuses, and
every accepted one is appended to the referral's history (see :mod:`engine.domain.model`).
"""
from __future__ import annotations

from enum import StrEnum

from engine.domain.errors import DomainError


class ReferralStatus(StrEnum):
    AWAITING_ASSESSMENT = "AWAITING_ASSESSMENT"
    AWAITING_ALLOCATION = "AWAITING_ALLOCATION"
    SUITABLE_NOT_READY = "SUITABLE_NOT_READY"
    SCHEDULED = "SCHEDULED"
    ON_PROGRAMME = "ON_PROGRAMME"
    PROGRAMME_COMPLETE = "PROGRAMME_COMPLETE"
    DEPRIORITISED = "DEPRIORITISED"
    RETURN_TO_COURT = "RETURN_TO_COURT"
    BREACH = "BREACH"
    RECALL = "RECALL"
    WITHDRAWN = "WITHDRAWN"
    DEFERRED = "DEFERRED"

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def ndelius_code(self) -> str:
        return _LABELS[self][1]

    @property
    def closed(self) -> bool:
        return self in CLOSED



S = ReferralStatus

_LABELS = {
    S.AWAITING_ASSESSMENT: ("Awaiting assessment", "EIBA"),
    S.AWAITING_ALLOCATION: ("Awaiting allocation", "EIBB"),
    S.SUITABLE_NOT_READY: ("Suitable but not ready", "EIBC"),
    S.SCHEDULED: ("Scheduled", "EIBD"),
    S.ON_PROGRAMME: ("On programme", "EIBE"),
    S.PROGRAMME_COMPLETE: ("Programme complete", "EIBF"),
    S.DEPRIORITISED: ("Deprioritised", "EIBG"),
    S.RETURN_TO_COURT: ("Return to court", "EIBH"),
    S.BREACH: ("Breach (non-attendance)", "EIBI"),
    S.RECALL: ("Recall", "EIBJ"),
    S.WITHDRAWN: ("Withdrawn", "EIBK"),
    S.DEFERRED: ("Deferred", "EIBL"),
}

CLOSED = frozenset({S.PROGRAMME_COMPLETE, S.WITHDRAWN})

TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    S.AWAITING_ASSESSMENT: frozenset({S.AWAITING_ALLOCATION, S.SUITABLE_NOT_READY, S.DEPRIORITISED,
                                      S.RECALL, S.RETURN_TO_COURT}),
    S.AWAITING_ALLOCATION: frozenset({S.SCHEDULED, S.DEPRIORITISED, S.RECALL, S.RETURN_TO_COURT}),
    S.SCHEDULED: frozenset({S.ON_PROGRAMME, S.AWAITING_ALLOCATION, S.AWAITING_ASSESSMENT,
                            S.DEPRIORITISED, S.RECALL, S.RETURN_TO_COURT}),
    S.ON_PROGRAMME: frozenset({S.PROGRAMME_COMPLETE, S.AWAITING_ALLOCATION, S.AWAITING_ASSESSMENT,
                               S.BREACH, S.RECALL, S.RETURN_TO_COURT}),
    S.SUITABLE_NOT_READY: frozenset({S.AWAITING_ASSESSMENT}),
    S.DEPRIORITISED: frozenset({S.AWAITING_ASSESSMENT}),
    S.RECALL: frozenset({S.AWAITING_ASSESSMENT, S.WITHDRAWN}),
    S.BREACH: frozenset({S.AWAITING_ASSESSMENT, S.WITHDRAWN}),
    S.DEFERRED: frozenset({S.AWAITING_ASSESSMENT}),
    S.RETURN_TO_COURT: frozenset({S.DEFERRED, S.WITHDRAWN}),
    S.PROGRAMME_COMPLETE: frozenset(),
    S.WITHDRAWN: frozenset(),
}

# Only the allocator may schedule someone: status events asking for SCHEDULED are refused.
ALLOCATION_ONLY = frozenset({S.SCHEDULED})

# Transitions that keep the person's group place; every other move frees it.
CONTINUING = frozenset({(S.AWAITING_ALLOCATION, S.SCHEDULED), (S.SCHEDULED, S.ON_PROGRAMME)})


class InvalidTransition(DomainError):
    def __init__(self, referral_id: str, from_status: ReferralStatus, to_status: ReferralStatus,
                 why: str = "") -> None:
        allowed = ", ".join(sorted(TRANSITIONS[from_status])) or "none (closed)"
        reason = why or f"allowed from {from_status}: {allowed}"
        super().__init__(f"referral {referral_id}: cannot move from {from_status} to {to_status} ({reason})")
        self.from_status, self.to_status = from_status, to_status


def check_transition(referral_id: str, from_status: ReferralStatus, to_status: ReferralStatus) -> None:
    if to_status not in TRANSITIONS[from_status]:
        raise InvalidTransition(referral_id, from_status, to_status)


def parse_status(value: str) -> ReferralStatus:
    """Accept the enum name, its label or its nDelius code: reference strings are not normalised in the wild."""
    key = value.strip().upper().replace(" ", "_").replace("-", "_")
    for status in ReferralStatus:
        if key in (status.value, status.ndelius_code) or value.strip().lower() == status.label.lower():
            return status
    if key == "SUITABLE_BUT_NOT_READY":
        return S.SUITABLE_NOT_READY
    raise DomainError(f"unknown referral status {value!r}; expected one of {', '.join(ReferralStatus)}")


def may_become_valid(from_status: ReferralStatus, to_status: ReferralStatus) -> bool:
    """Whether status changes could lead from ``from_status`` to a status ``to_status`` is allowed from, without
    a step only an allocation makes: an event asking for a move not valid now may wait for an earlier status
    change of its referral (docs/events.md, "Status changes out of order"). False from a closed status, for a
    target only an allocation reaches, and for one that needs a place first (Programme complete from the
    waiting list: On programme is reached only through Scheduled)."""
    if to_status in ALLOCATION_ONLY or to_status == from_status:
        return False
    try:
        path_to(from_status, to_status)
    except InvalidTransition:
        return False
    return True


def path_to(from_status: ReferralStatus, goal: ReferralStatus) -> list[ReferralStatus]:
    """Shortest walk along the graph (excluding the start), e.g. to close a referral step by step.

    Raises :class:`InvalidTransition` when the goal cannot be reached (from a closed status).
    """
    frontier, came_from = [from_status], {from_status: None}
    while frontier:
        nxt = []
        for status in frontier:
            for step in sorted(TRANSITIONS[status] - ALLOCATION_ONLY):
                if step not in came_from:
                    came_from[step] = status
                    nxt.append(step)
        frontier = nxt
    if goal not in came_from or goal == from_status:
        raise InvalidTransition("-", from_status, goal, "no path in the status graph")
    path, node = [], goal
    while node != from_status:
        path.append(node)
        node = came_from[node]
    return path[::-1]
