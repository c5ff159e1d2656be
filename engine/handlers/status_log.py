"""A referral's status as the fold of what happened to it in event-time order, whatever order it arrived in.

Topics are produced by different systems: one producer can be late (an outage and a catch-up, issue 16
scenario 8), so an event dated *before* changes already applied to a referral can still arrive — a
``sentence.terminated`` after the ``referral.status_changed`` dated after it, a ``referral.assessed`` after
the ``enforcement.recall_raised`` three minutes later, two closings in reverse order. Applied as of when it
arrived, such an event leaves the referral where the ordered replay does not (a later assessment undone by an
older recall, a closure dated by the later of two terminations, an assessment's bands lost as stale).

The engine converges instead of waiting (docs/events.md, "Status changes out of order"): every event that acts
on a referral's status records its *intent* here — assessed with this outcome and these facts, moved to this
status, closed, breached, recalled, placed — under ``status_log:<referral_id>`` in the engine state, ordered by
``occurred_at``. An event dated no earlier than the last intent applies as it always did (the fold of the log
in order is the same thing). An older one is inserted at its place and the log is folded again from the
referral's creation: the status, the assessment's facts, ``ready_from`` and ``updated_at`` become the ordered
replay's. A referral that arrives after events of its sentence dated after it (a recall, a termination) takes
them from ``sentence_log:<sentence_id>``. A different status is reached by one correcting step in the history
(which is append-only: it records the order things were learnt in), and a place the correction leaves is freed
with ``allocation.removed`` naming the event.

What is never overridden: a move nobody logged here (a plan's allocation or removal, a safety rule's removal
of a place) dated after the late event. Then the fold could undo a decision people or a safety rule made, so
the late event is applied as of when it arrived, as before, and a warning names both ids.
"""
from __future__ import annotations

import json
import logging
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from engine import state_keys as keys
from engine.domain.model import Referral, StatusChange
from engine.domain.placement import HOLDING
from engine.domain.statuses import ALLOCATION_ONLY, TRANSITIONS, InvalidTransition, ReferralStatus as S, path_to
from engine.handlers.context import Context
from engine.ports import DeadLetter, UnitOfWork

log = logging.getLogger(__name__)

# Facts an assessment sets on the referral (ready_from is kept apart: a status change may set it too).
FACTS = ("pathway", "offence_cohort", "ldc", "risk_band", "need_band")


@dataclass(frozen=True)
class Intent:
    """What one event meant for one referral's status, as of its time."""

    at: datetime
    event_id: str
    kind: str  # created | assessed | to | close | breach | unbreach | recall | recall_end | place
    status: str = ""  # assessed: the outcome's status; to, recall_end, place: the target
    reason: str = ""
    facts: dict = field(default_factory=dict)  # assessed: FACTS; assessed and to: "ready_from" (ISO) when set
    from_status: str = ""  # place: the status the move starts from

    def order(self) -> tuple:
        """Event time, then the event id; intents of one event keep the order it made them (a stable sort)."""
        return (self.at, 0 if self.kind == "created" else 1, self.event_id)

    def key(self) -> tuple:
        return (self.event_id, self.kind, self.status, self.from_status)

    def dump(self) -> dict:
        out = {"at": self.at.isoformat(), "id": self.event_id, "kind": self.kind}
        for name in ("status", "reason", "facts", "from_status"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out

    @staticmethod
    def load(row: dict) -> "Intent":
        return Intent(datetime.fromisoformat(row["at"]), row["id"], row["kind"], row.get("status", ""),
                      row.get("reason", ""), row.get("facts", {}), row.get("from_status", ""))


# Each unit of work's logs read or written so far (a batch meets a referral or a sentence more than once).
_CACHE: "weakref.WeakKeyDictionary[UnitOfWork, dict[str, list[Intent] | None]]" = weakref.WeakKeyDictionary()
_SENTENCES: "weakref.WeakKeyDictionary[UnitOfWork, dict[str, list[Intent]]]" = weakref.WeakKeyDictionary()


def intents(uow: UnitOfWork, referral_id: str) -> list[Intent] | None:
    """The referral's log in event-time order; None for a referral received before the log existed."""
    cache = _CACHE.setdefault(uow, {})
    if referral_id not in cache:
        value = uow.get_state(keys.STATUS_LOG.key(referral_id))
        cache[referral_id] = sorted((Intent.load(r) for r in json.loads(value)), key=Intent.order) if value else None
    return cache[referral_id]


def _store(uow: UnitOfWork, referral_id: str, logged: list[Intent]) -> None:
    """Keep a new list (never changed afterwards: it is serialised when the unit of work writes, once however
    many events of a batch changed the log)."""
    logged.sort(key=Intent.order)
    _CACHE.setdefault(uow, {})[referral_id] = logged
    uow.set_state_later(keys.STATUS_LOG.key(referral_id), lambda: _dumps(logged))


def _dumps(logged: list[Intent]) -> str:
    return json.dumps([i.dump() for i in logged], separators=(",", ":"))


def start(ctx: Context, referral: Referral, sentence_id: str) -> list[Intent]:
    """A new referral's log: received, awaiting assessment. Returns what its sentence's events already did dated
    after it (a referral whose producer was late missed them: a recall, a breach, its requirement's
    termination), for :func:`catch_up`."""
    _store(ctx.uow, referral.referral_id, [Intent(ctx.now, ctx.event_id, "created")])
    if not _behind(ctx):
        return []
    return [i for i in sentence_intents(ctx.uow, sentence_id) if i.at > ctx.now
            and i.facts.get("requirement_id", referral.requirement_id) == referral.requirement_id]


def catch_up(ctx: Context, referral: Referral, later: list[Intent]) -> None:
    """Fold in the sentence's intents dated after the referral was created (:func:`start`)."""
    for intent in later:
        refold(ctx, referral, intent)


def sentence_intents(uow: UnitOfWork, sentence_id: str) -> list[Intent]:
    """What a sentence's events meant for the referrals of it (a close names its requirement)."""
    cache = _SENTENCES.setdefault(uow, {})
    if sentence_id not in cache:
        value = uow.get_state(keys.SENTENCE_LOG.key(sentence_id))
        cache[sentence_id] = [Intent.load(r) for r in json.loads(value)] if value else []
    return list(cache[sentence_id])


def record_sentence(ctx: Context, sentence_id: str, intent: Intent) -> None:
    """Keep a sentence event's intent for referrals of the sentence that arrive after it, dated before it."""
    logged = sentence_intents(ctx.uow, sentence_id)
    if any(i.key() == intent.key() and i.facts == intent.facts for i in logged):
        return
    logged.append(intent)  # a copy (sentence_intents): the list kept is never changed afterwards
    _SENTENCES.setdefault(ctx.uow, {})[sentence_id] = logged
    ctx.uow.set_state_later(keys.SENTENCE_LOG.key(sentence_id), lambda: _dumps(logged))


def record(ctx: Context, referral: Referral, intent: Intent) -> None:
    """Add an intent applied as it arrived (once per event and kind)."""
    logged = intents(ctx.uow, referral.referral_id)
    if logged is None or any(i.key() == intent.key() for i in logged):
        return
    _store(ctx.uow, referral.referral_id, [*logged, intent])


def placed(ctx: Context, referral: Referral, from_status: S) -> None:
    """A move that a place made (placed, started, completed, released), logged after it was made."""
    if referral.status != from_status:
        record(ctx, referral, Intent(ctx.now, ctx.event_id, "place", referral.status.value,
                                     from_status=from_status.value))


def is_late(ctx: Context, referral: Referral) -> bool:
    """This event is dated before an intent already applied to the referral (and the referral has a log)."""
    if not _behind(ctx):
        return False
    logged = intents(ctx.uow, referral.referral_id)
    return bool(logged) and logged[-1].at > ctx.now


def _behind(ctx: Context) -> bool:
    """Some event applied before this one is dated after it (the event clock is past it): only then can anything
    be late for it. Most events arrive in order, and need no look at a log for this."""
    return ctx.clock is not None and ctx.clock > ctx.now


@dataclass
class Folded:
    status: S
    facts: dict
    ready_from: date | None
    updated_at: datetime | None
    skipped: list[tuple[Intent, S]]  # intents that did not apply, with the status they met


def fold(referral: Referral, logged: list[Intent]) -> Folded:
    """The referral as the ordered replay leaves it after these intents (the creation first, then the rest in
    event-time order; an intent dated before the creation applies right after it)."""
    created = [i for i in logged if i.kind == "created"]
    rest = [i for i in logged if i.kind != "created"]
    out = Folded(S.AWAITING_ASSESSMENT, {}, None, None, [])
    for intent in created[:1] + rest:
        status = out.status
        if intent.kind == "created":
            out.updated_at = intent.at
            continue
        if created and intent.at < created[0].at and intent.kind in ("breach", "unbreach", "recall", "recall_end"):
            continue  # a sentence's event before the referral existed did not act on it
        goal, applied = _goal(status, intent)
        if goal is None and not applied:
            out.skipped.append((intent, status))
            continue
        if goal is not None and goal != status:
            try:
                route = [goal] if intent.kind in ("to", "assessed", "place") else _route(status, goal, intent.kind)
            except InvalidTransition:
                out.skipped.append((intent, status))
                continue
            out.status = route[-1]
        if intent.kind == "assessed":
            out.facts.update({k: v for k, v in intent.facts.items() if k in FACTS and v is not None})
        if "ready_from" in intent.facts:
            out.ready_from = date.fromisoformat(intent.facts["ready_from"])
        out.updated_at = max(filter(None, (out.updated_at, intent.at)))
    return out


def _goal(status: S, intent: Intent) -> tuple[S | None, bool]:
    """Where the intent takes a referral in ``status`` (None: nowhere), and whether it applies at all (a
    re-stated status or a reassessment applies without a move; a breach of someone not on the programme
    does not apply)."""
    kind = intent.kind
    if status.closed:
        return None, False
    if kind == "assessed":
        outcome = S(intent.status)
        if status == S.AWAITING_ASSESSMENT:
            return outcome, True
        return None, status == outcome == S.AWAITING_ALLOCATION  # a reassessment on the waiting list
    if kind == "to":
        to = S(intent.status)
        if to == status:
            return None, True
        return (to, True) if to in TRANSITIONS[status] - ALLOCATION_ONLY else (None, False)
    if kind == "place":
        return (S(intent.status), True) if status == S(intent.from_status) else (None, False)
    if kind == "close":
        return S.WITHDRAWN, True
    if kind == "breach":
        return (S.BREACH, True) if status == S.ON_PROGRAMME else (None, False)
    if kind == "unbreach":
        return (S.AWAITING_ASSESSMENT, True) if status == S.BREACH else (None, False)
    if kind == "recall":
        return (None, False) if status in (S.RECALL, S.RETURN_TO_COURT, S.DEFERRED, S.BREACH) else (S.RECALL, True)
    if kind == "recall_end":
        return (S(intent.status), True) if status == S.RECALL else (None, False)
    raise ValueError(f"unknown intent kind {kind!r}")


def _route(start_: S, goal: S, kind: str) -> list[S]:
    """The walk a handler takes (:meth:`Context.walk`): a closing goes through Return to court when it can."""
    if kind == "close" and S.RETURN_TO_COURT not in (start_, goal):
        try:
            return path_to(start_, S.RETURN_TO_COURT) + path_to(S.RETURN_TO_COURT, goal)
        except InvalidTransition:
            pass
    return path_to(start_, goal)


def refold(ctx: Context, referral: Referral, intent: Intent) -> bool | None:
    """Insert a late intent at its place in the referral's log and make the referral what the fold says;
    whether that changed the referral. None (nothing changed, the intent not logged) when the fold may not be
    trusted: no log, or a move nobody logged here dated after the intent (see the module doc); the caller
    then applies the event as before."""
    logged = intents(ctx.uow, referral.referral_id)
    if logged is None:
        return None
    ids = {i.event_id for i in logged} | {intent.event_id}
    foreign = [c for c in referral.history if c.at > intent.at and c.event_id not in ids]
    if foreign:
        log.warning("referral %s: event %s dated %s arrived after a move not made by an event (%s at %s); applied "
                    "as of its arrival", referral.referral_id, intent.event_id, intent.at.isoformat(),
                    foreign[0].event_id or "plan", foreign[0].at.isoformat())
        return None
    new = not any(i.key() == intent.key() for i in logged)
    candidate = sorted([*logged, intent] if new else logged, key=Intent.order)
    folded, before = fold(referral, candidate), fold(referral, logged)
    if folded.status in HOLDING and referral.cohort_id is None:
        log.warning("referral %s: event %s dated %s would leave it %s without a place; applied as of its arrival",
                    referral.referral_id, intent.event_id, intent.at.isoformat(), folded.status)
        return None
    if new:
        _store(ctx.uow, referral.referral_id, candidate)
    changed = False
    for name, value in folded.facts.items():
        if getattr(referral, name) != value:
            setattr(referral, name, value)
            changed = True
    if folded.ready_from is not None and referral.ready_from != folded.ready_from:
        referral.ready_from = folded.ready_from
        changed = True
    if folded.status != referral.status:
        previous = referral.cohort_id
        reason = (f"{intent.reason or intent.kind} (dated {intent.at:%Y-%m-%dT%H:%M:%S}, before changes already "
                  f"applied: the status in event-time order)")
        referral.history.append(StatusChange(intent.at, referral.status, folded.status, reason, intent.event_id))
        referral.status = folded.status
        if previous is not None and folded.status not in HOLDING:
            referral.cohort_id = None
            ctx.free_place(referral, previous, reason)
        ctx.settled(referral)
        ctx.dirty_regions.add(ctx.region_of(referral.crn))
        changed = True
    if folded.updated_at is not None and referral.updated_at != folded.updated_at:
        referral.updated_at = folded.updated_at
        changed = True
    if changed:
        ctx.touch(referral)
    _undone(ctx, referral, intent, folded, before)
    return changed


_EVENT_TYPES = {"to": "referral.status_changed", "assessed": "referral.assessed"}


def _undone(ctx: Context, referral: Referral, late: Intent, folded: Folded, before: Folded) -> None:
    """A practitioner's change that applied when it arrived and no longer does in event-time order, because the
    late event closed the referral before it (a closed referral never reopens), is never dropped silently: it
    becomes a dead letter saying so, with its text. One that only waits for an earlier change still to come
    stays in the log and applies when that arrives."""
    was = {i.key() for i, _ in before.skipped}
    for skipped, status in folded.skipped:
        if skipped.key() in was or skipped.event_id == late.event_id or skipped.kind not in _EVENT_TYPES:
            continue
        if not status.closed:
            log.info("referral %s: %s %s (dated %s) waits for an earlier change after event %s dated before it",
                     referral.referral_id, skipped.kind, skipped.event_id, skipped.at.isoformat(), late.event_id)
            continue
        copy = ctx.uow.seen_copies([skipped.event_id]).get(skipped.event_id)
        reason = (f"{_EVENT_TYPES[skipped.kind]} rejected: referral {referral.referral_id}: no longer applies — event "
                  f"{late.event_id} ({late.kind}), dated {late.at:%Y-%m-%dT%H:%M:%S} before it and delivered after it, "
                  f"left the referral {status.lower().replace('_', ' ')}; the change was applied when it arrived and "
                  f"is undone")
        log.warning("dead letter from the status log, event %s: %s", skipped.event_id, reason)
        ctx.uow.dead_letter(DeadLetter("status_log", reason, copy.raw if copy and copy.raw else "",
                                       event_id=skipped.event_id), datetime.now(timezone.utc))
