"""Every name the engine keeps in its state table (``engine_state``: name → text), in one place.

A family is a prefix and the parts that follow it, joined by ``:``; :meth:`Family.key` builds a name and
:meth:`Family.parts` reads one back, so no module spells a key by hand. The names are stored data: a
change here is a migration.

=================  =====================  ====================================================================
family             parts                  value
=================  =====================  ====================================================================
``clock``          —                      the latest event time applied (ISO), the event clock
``access``         —                      changes to the limited-access rules (person_access): a counter; the API
                                          reads the rules again only when it moved
``offset:``        topic, partition       the next offset to read (a stream consumer's committed position)
``low:``           topic, partition       the partition's low watermark, published by the worker owning it
``dirty:``         region                 changes since the region was last planned (a counter)
``last_planned:``  region                 the date the region was last planned as of
``plan_version:``  region                 the region's latest published plan version
``plan_rejected:`` region                 the last plan the gate refused: its violations (JSON); "" once passed
``plan_fallback:`` region                 the last plan fell back to current practice: when and why (JSON); ""
                                          once a plan did not
``unsafe_removed:`` referral              the breach that removed the place (JSON) until a plan sees them
``claims:``        region, cohort         the delivery team's claims on the cohort (JSON)
``refused:``       region, cohort         the claims that hold no place now, with the rule (JSON)
``report:``        region, as-of date     when the weekly report was published
``alert_sweeps:``  region                 sweeps that changed an alert (a sequence)
``cursor:``        reader                 the last outbox id an outbox reader delivered (webhook, email, jsonl)
``moves:``         referral               times plans moved the referral's published place (a counter)
``overrides_set_aside:`` region          the planner overrides the last plan set aside as unsafe: id → reasons (JSON)
``status_log:``   referral               what each event meant for the referral's status, in event-time order (JSON;
                                          engine/handlers/status_log.py)
``sentence_log:`` sentence               what each event of the sentence meant for its referrals (JSON), for one
                                          that arrives after them
``fence:``         name                   a fencing token: the generation of the right to plan (e.g. ``replan:3``, a
                                          re-plan partition) and who took it last (JSON)
``plan_owner:``    plan version           the fence a worker's plan was published under: region, fence, generation,
                                          holder (JSON); none for an embedded plan
``asked:``         region                 changes to the region asked for through the HTTP API (overrides added or
                                          removed, re-plans): a counter; the API never serves an answer behind it
=================  =====================  ====================================================================
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    prefix: str
    arity: int

    def key(self, *parts: object) -> str:
        if len(parts) != self.arity:
            raise ValueError(f"{self.prefix!r} keys have {self.arity} parts, got {len(parts)}")
        return self.prefix + ":".join(str(p) for p in parts)

    def parts(self, name: str) -> tuple[str, ...]:
        """The parts of ``name`` (the last part may itself contain ``:``, as a topic name may not)."""
        if not name.startswith(self.prefix):
            raise ValueError(f"{name!r} is not a {self.prefix!r} key")
        return tuple(name.removeprefix(self.prefix).split(":", self.arity - 1))


CLOCK = "clock"
ACCESS_RULES = "access"
OFFSET = Family("offset:", 2)
LOW_WATERMARK = Family("low:", 2)
DIRTY = Family("dirty:", 1)
LAST_PLANNED = Family("last_planned:", 1)
PLAN_VERSION = Family("plan_version:", 1)
PLAN_REJECTED = Family("plan_rejected:", 1)
PLAN_FALLBACK = Family("plan_fallback:", 1)
UNSAFE_REMOVED = Family("unsafe_removed:", 1)
CLAIMS = Family("claims:", 2)
REFUSED = Family("refused:", 2)
REPORT_DONE = Family("report:", 2)
ALERT_SWEEPS = Family("alert_sweeps:", 1)
OUTBOX_CURSOR = Family("cursor:", 1)
MOVES = Family("moves:", 1)
OVERRIDES_SET_ASIDE = Family("overrides_set_aside:", 1)
STATUS_LOG = Family("status_log:", 1)
SENTENCE_LOG = Family("sentence_log:", 1)
FENCE = Family("fence:", 1)
PLAN_OWNER = Family("plan_owner:", 1)
ASKED = Family("asked:", 1)
