"""What refuses a decoded message whatever the state: the rules of the message alone.

The ingest checks them before a handler runs (the same functions the handlers call), and the embedded replay
asks the same question before a message may move its weekly plans: a message that becomes a dead letter must
not carry the plans to its ``occurred_at`` (docs/events.md, "Clocks"). A refusal that depends on the state (a
started cohort cannot be rescheduled) is found only when the message is applied; such a message is still a
fact of its time, and its time counts.
"""
from __future__ import annotations

from engine.domain.errors import DomainError
from engine.events import inbound as i
from engine.events.decode import Decoded
from engine.domain.rules import EngineRules
from engine.handlers.delivery import sizes
from engine.handlers.reference import check_codes


def refusal(event: Decoded, rules: EngineRules) -> str | None:
    """Why ``event`` can never be applied, in its handler's words, or None: a code the reference data does
    not know, or a cohort whose minimum size is above its maximum."""
    try:
        check_codes(event.payload, rules.catalogue)
        if isinstance(event.payload, i.CohortPlanned):
            sizes(event.payload, rules.catalogue)
    except DomainError as exc:
        return str(exc)
    return None
