"""Issue 12, "Safe decisions under any event order": random but valid histories replayed with planning.

The histories (:mod:`tests.generative.strategies`) are small — 2-6 people, 1-3 cohorts, 2-3 facilitators —
and carry the incidents that move the facts under a place: corrections of sex, availability and
non-associations after placement, merges into known and unknown cases, order ends amended earlier and
later, terminations, cohorts confirmed, cancelled and rescheduled around the freeze window, copies of
messages with the same event id (the same payload or another), and messages that arrive late, out of order
within and across keys. Each example runs on its own throwaway SQLite file (tests/generative/conftest.py).

Properties, checked after every plan (weekly for eleven weeks, then once more after the last arrival):

1. The plan was published, not refused by the gate: on valid input the allocator never proposes an unsafe
   place. :func:`engine.invariants.check_region` finds no violation, and every kept place it flags has an
   open alert after the plan's sweep: ``allocation.finishes_late`` when it only finishes too late,
   ``place.breaks_rule`` for any other rule. No message is dead-lettered for its form or an unknown code,
   except the facts of issue 18 that must be (dated far ahead, control characters, a key that is not the
   crn, a minimum above the maximum), each for its own reason; no plan moves a place the delivery team made;
   the event clock never passes the latest valid event time; every member of a confirmation is placed or
   alerted (tests/generative/conftest.py).
2. Order independence: the same events fed in another arrival order within one batch (after a common
   prefix fed and planned in event order, or none), then planned once, lead to the same decisions — each
   referral's status, place and crn; each cohort's status and, unless cancelled, its start and facilitators;
   each allocation's cohort, source and pin. Excluded, because the rules make the order matter there:
   - conflicting copies (an event id sent again with another payload): the first arrival wins by rule, so
     the order test draws histories without them;
   - events whose ``occurred_at`` ties: the generator gives every event its own instant (only the copies of
     one message share one, and they are the same message);
   - the park timeout: a parked event expires after 168 h of event time by the ingest's clock, the latest
     event applied so far, so whether it expires depends on what arrived before it; the order test runs
     without it (property 1 keeps it).
   Messages dated far ahead or far behind (issue 18) are kept: the clock bound is measured from the later of
   the latest event and the wall clock, so a 2099 typo is refused and one from 2020 taken in any order.

The counterexamples found so far are pinned, shrunk by hand, in tests/generative/test_regressions.py.
"""
from __future__ import annotations

from datetime import timedelta

from hypothesis import event, given

from engine.domain.statuses import ReferralStatus as S
from tests.generative.strategies import (PLAN_DAYS, START, History, Reordering, generative, histories, reorderings,
                                         world_lines, worlds)

LAST_PLAN = START + timedelta(days=PLAN_DAYS[-1])


@generative(50)
@given(worlds())
def test_the_event_helpers_still_make_a_world_the_engine_takes_whole(engine, world):
    with engine.fresh() as h:
        result = h.feed(*world_lines(world))
        assert (result.dead_lettered, result.parked) == (0, 0), h.dead_letters()
        people = world[0]
        assert {p.referral_id: h.referral(p.referral_id).status for p in people} == {
            p.referral_id: S.AWAITING_ALLOCATION if p.assessed else S.AWAITING_ASSESSMENT for p in people}
        engine.plan(h, LAST_PLAN)


@generative(100)
@given(histories())
def test_every_plan_is_published_and_keeps_the_invariants_whatever_arrives_when(engine, history: History):
    with engine.fresh() as h:
        outcomes = engine.replay(h, history.batches(), history.expected())
        event(f"places made: {'yes' if any(o.made for o in outcomes) else 'no'}")
        event(f"dead letters: {'yes' if h.dead_letters() else 'no'}")


@generative(75)
@given(reorderings())
def test_the_same_events_in_another_arrival_order_lead_to_the_same_decisions(engine, case: Reordering):
    decisions = []
    for order in (case.first, case.second):
        with engine.fresh(park_timeout=False) as h:
            prefix = [(START + timedelta(days=case.split), [e.line for e in case.prefix])] if case.split else []
            engine.replay(h, [*prefix, (LAST_PLAN, [e.line for e in order])], case.history.expected())
            decisions.append(engine.state(h))
    event(f"places held: {'yes' if decisions[0]['allocations'] else 'no'}")
    assert decisions[0] == decisions[1]
