"""Issue 18, "Facts from other systems are applied, not argued with; no event may move the clock or stop the line".

The histories of issue 12 (tests/generative/strategies.py) also carry the facts other systems get wrong or
send as they are: messages dated far ahead of the clock and far behind it, free text with control characters,
envelope keys that are not the payload's crn, cohorts redefined (with a minimum above the maximum now and
then), and confirmations naming lawful members together with members of the other sex, non-associated pairs,
unknown referral ids and more members than the maximum. test_event_orders.py replays them with the checks of
tests/generative/conftest.py after every plan; this module adds:

1. Confirmations drawn from what a plan left: after each plan the delivery team may confirm a cohort that has
   not started (its own or one the plan opened), naming members the plan proposed elsewhere or on it, people
   waiting, people of the other sex, anyone, an unknown id. A member the plan proposed elsewhere who takes the
   place is taken off the proposal with ``allocation.changed``; one refused is alerted
   (``confirmation.member_refused``); no later plan moves a place the delivery team made.
2. The embedded replay (``cohortplan replay``): the history as a file, applied in event-time order with weekly
   plans on the Mondays the events reach. Every plan is as of a date no later than a week after the latest
   valid event time, the event clock never passes that time, and every dead letter is one the rules allow;
   the state after the last plan keeps every invariant.
"""
from __future__ import annotations

import json
from datetime import date, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from engine.domain.model import CohortStatus
from engine.invariants import check_region
from engine.services.ingest import RawEvent, event_clock
from engine.services.planning import Planner
from engine.services.replay import Replay
from solver.baselines import CurrentPracticeAllocator
from tests.generative.conftest import REGION, Fed, check_dead_letters
from tests.generative.strategies import INVALID, History, PlanView, confirmations_after, generative, histories
from tests.unit.engine.harness import Harness


def view_after(h: Harness, day: date) -> PlanView:
    with h.db.uow() as uow:
        cohorts = {c.cohort_id: (c.sex, c.max_size) for c in uow.cohorts.where(
            region_code=REGION, status=[CohortStatus.PROPOSED, CohortStatus.CONFIRMED])}
        proposed = {a.referral_id for a in uow.allocations.where() if a.source == "PLAN"}
        sexes = {p.crn: p.sex for p in uow.people.where()}
        referrals = {r.referral_id: (str(r.status), r.cohort_id, r.referral_id in proposed, sexes.get(r.crn))
                     for r in uow.referrals.where()}
    return PlanView(day, cohorts, referrals)


def plan_places(h: Harness) -> dict[str, str]:
    with h.db.uow() as uow:
        return {a.referral_id: a.cohort_id for a in uow.allocations.where() if a.source == "PLAN"}


@generative(30)
@given(histories(), st.data())
def test_confirmations_after_a_plan_take_members_off_its_proposals_and_no_later_plan_moves_them(
        engine, history: History, data):
    confirmed = 0
    with engine.fresh() as h:
        fed, cancelled = Fed(history.expected()), history.cancelled()
        arrivals = history.arrivals()
        for number, (as_of, batch) in enumerate(arrivals, start=1):
            if batch:
                engine.feed(h, [e.line for e in batch], fed)
            engine.plan(h, as_of, fed)
            if number == len(arrivals):
                break
            line = data.draw(confirmations_after(view_after(h, as_of), cancelled), label=f"after the plan of {as_of}")
            if line is None:
                continue
            confirmed += 1
            proposals, sent = plan_places(h), len(h.outbox())
            engine.feed(h, [line], fed)
            body = json.loads(line)["payload"]
            moves = [json.loads(r["message"])["payload"] for r in h.outbox()[sent:]
                     if r["event_type"] == "allocation.changed"]
            changed = {(p["referral_id"], p["previous_cohort_id"]) for p in moves}
            with h.db.uow() as uow:
                for referral_id in body["members"]:
                    before, allocation = proposals.get(referral_id), uow.allocations.get(referral_id)
                    if before not in (None, body["cohort_id"]) and allocation is not None and (
                            allocation.cohort_id, allocation.source) == (body["cohort_id"], "DELIVERY"):
                        assert (referral_id, before) in changed, (
                            f"{referral_id} was taken off the plan's proposal on {before} without allocation.changed")
        check_dead_letters(h, fed.expected, fed.span())
    event(f"confirmations after a plan: {min(confirmed, 3)}{'+' if confirmed > 3 else ''}")


@generative(25)
@given(histories())
def test_an_embedded_replay_plans_no_later_than_a_week_after_the_latest_valid_event(engine, history: History):
    lines = [e.line for e in history.arrival_order()]  # the file a service would have logged
    latest = max(e.occurred for e in history.events if e.kind not in INVALID)
    span = latest - min(e.occurred for e in history.events if e.kind not in INVALID | {"behind"})
    with engine.fresh() as h:
        planner = Planner(h.db.uow, CurrentPracticeAllocator(), h.rules)
        replay = Replay(h.ingestor, planner, plan_every=timedelta(days=7))
        summary = replay.run(RawEvent(line, "history.jsonl", n) for n, line in enumerate(lines, start=1))
        late = [p.as_of for p in summary.plans if p.as_of > (latest + timedelta(days=7)).date()]
        assert late == [], f"plans as of dates more than a week after the latest valid event time {latest}: {late}"
        assert summary.plans and summary.plans[-1].as_of > (latest - timedelta(days=7)).date(), (
            f"the replay stopped planning before the week of the latest valid event time {latest}: "
            f"{[p.as_of for p in summary.plans][-3:]}")
        with h.db.uow() as uow:
            clock = event_clock(uow)
            report = check_region(uow, REGION, summary.plans[-1].as_of, h.rules) if summary.plans else None
        assert clock is not None and clock <= latest, f"the event clock {clock} passed the latest valid event {latest}"
        assert report is None or report.violations == [], report.violations
        check_dead_letters(h, history.expected(), span)
    event(f"plans: {len(summary.plans) // 4 * 4}+")
