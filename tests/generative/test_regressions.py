"""The counterexamples the generative tests of issues 12 and 18 found, shrunk by hand to the events that matter.

Each test states what the engine should do. One not fixed yet is marked ``xfail(strict=True)``: the fix
makes it pass, the strict mark then fails the run, and the fix removes the mark.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.alerts.rules.confirmation_member_refused import KIND as MEMBER_REFUSED
from engine.alerts.rules.facilitator_overbooked import KIND as OVERBOOKED
from engine.services.ingest import RawEvent
from engine.services.planning import Planner
from engine.services.replay import Replay, ReplaySummary
from solver.baselines import CurrentPracticeAllocator
from tests.generative.conftest import check_dead_letters
from tests.generative.strategies import DAYTIME, at, cohort_line
from tests.support.events import T0, cohort_planned, event, facilitator, person_with_referral

PLAN = date(2025, 2, 10)  # the referrals of person_with_referral are assessed on 26 January
EVENING = ((1, "18:00"), (3, "18:00"))


def decide(engine, *lines: str, as_of: date = PLAN) -> dict:
    """The decisions after feeding ``lines`` in this arrival order as one batch and planning once."""
    with engine.fresh(park_timeout=False) as h:
        engine.replay(h, [(as_of, list(lines))])
        return engine.state(h)


def a_group() -> list[str]:
    return [cohort_planned("C1", date(2025, 3, 3), min_size=1), facilitator("F1"), facilitator("F2")]


@pytest.mark.parametrize("termination", ["requirement.terminated", "sentence.terminated"])
def test_a_referral_arriving_after_its_order_was_terminated_is_withdrawn_as_in_event_order(engine, termination):
    person, sentence, requirement, referral, assessed = person_with_referral("X000001")
    ids = {"requirement_id": "RQ-X000001"} if termination == "requirement.terminated" else {"sentence_id": "S-X000001"}
    terminated = event(termination, T0 + timedelta(days=30), crn="X000001", terminated_on=date(2025, 2, 5),
                       reason="REVOKED", **ids)
    in_order = decide(engine, *a_group(), person, sentence, requirement, referral, assessed, terminated)
    late = decide(engine, *a_group(), person, sentence, requirement, terminated, referral, assessed)
    assert in_order["referrals"]["REF-X000001"][:2] == ("WITHDRAWN", None)
    assert late == in_order


def test_an_older_reschedule_arriving_after_a_newer_one_leaves_the_newer_start(engine):
    earlier = event("cohort.rescheduled", T0 + timedelta(days=20), key="RS", cohort_id="C1",
                    start_date=date(2025, 3, 10))
    later = event("cohort.rescheduled", T0 + timedelta(days=25), key="RS", cohort_id="C1",
                  start_date=date(2025, 3, 24))
    in_order = decide(engine, *a_group(), earlier, later)
    late = decide(engine, *a_group(), later, earlier)
    assert in_order["cohorts"]["C1"][1] == date(2025, 3, 24)
    assert late == in_order


def test_an_older_confirmation_arriving_after_a_newer_one_leaves_the_newer_facilitators(engine):
    earlier = event("cohort.confirmed", T0 + timedelta(days=20), key="RS", cohort_id="C1",
                    facilitator_ids=["F1", "F2"])
    later = event("cohort.confirmed", T0 + timedelta(days=25), key="RS", cohort_id="C1",
                  facilitator_ids=["F2", "F3"])
    in_order = decide(engine, *a_group(), facilitator("F3"), earlier, later)
    late = decide(engine, *a_group(), facilitator("F3"), later, earlier)
    assert in_order["cohorts"]["C1"][2] == ("F2", "F3")
    assert late == in_order


def test_a_confirmation_arriving_before_its_members_earlier_assessment_still_places_them(engine):
    *intake, assessed = person_with_referral("X000001")
    confirmed = event("cohort.confirmed", T0 + timedelta(days=30), key="RS", cohort_id="C1",
                      facilitator_ids=["F1", "F2"], members=["REF-X000001"])
    in_order = decide(engine, *a_group(), *intake, assessed, confirmed)
    late = decide(engine, *a_group(), *intake, confirmed, assessed)
    assert in_order["allocations"]["REF-X000001"] == ("C1", "DELIVERY", True)
    assert late == in_order


def test_a_case_merged_into_a_crn_a_partial_update_created_first_stays_visible_to_planning(engine):
    merged = event("case.merged", T0 + timedelta(days=24), key="X000091", source_crn="X000001",
                   target_crn="X000091")
    corrected = event("person.updated", T0 + timedelta(days=24, minutes=5), crn="X000091", sex="MALE")
    decide(engine, *a_group(), *person_with_referral("X000001"), corrected, merged)  # invisible-referral


def test_a_facilitator_clash_a_confirmation_makes_with_a_cohort_the_plan_opened_is_alerted_not_a_violation(engine):
    world = [*person_with_referral("X000001"), cohort_planned("C1", date(2025, 3, 3), slots=EVENING, min_size=1),
             cohort_planned("C3", date(2025, 3, 10), slots=EVENING, sex="FEMALE", min_size=1),
             facilitator("F1"), facilitator("F2"), facilitator("F3")]
    confirmed = event("cohort.confirmed", T0 + timedelta(days=30), key="RS", cohort_id="C3",
                      facilitator_ids=["F1", "F3"], members=[])
    with engine.fresh() as h:  # the first plan opens C1 with F1 and F2; the delivery team then books F1 on C3
        *_, last = engine.replay(h, [(date(2025, 2, 3), world), (PLAN, [confirmed])])
    assert last.alerts.open[OVERBOOKED] == ["F1"]


def test_a_late_first_person_record_still_gives_the_person_their_region(engine):
    person, *intake = person_with_referral("X000001")
    corrected = event("person.updated", T0 + timedelta(days=30), crn="X000001", sex="MALE")
    in_order = decide(engine, *a_group(), person, *intake, corrected)
    late = decide(engine, *a_group(), corrected, person, *intake)
    assert in_order["referrals"]["REF-X000001"][0] == "SCHEDULED"
    assert late == in_order


def test_a_late_first_person_record_still_gives_the_person_their_sex(engine):
    person, *intake = person_with_referral("X000001", sex="FEMALE")
    named = event("person.updated", T0 + timedelta(days=30), crn="X000001", non_associations=["X000002"])
    in_order = decide(engine, *a_group(), person, *intake, named)  # C1 is a MALE group: no place
    late = decide(engine, *a_group(), named, person, *intake)
    assert in_order["referrals"]["REF-X000001"][:2] == ("AWAITING_ALLOCATION", None)
    assert late == in_order


def test_an_older_non_association_arriving_after_a_newer_correction_still_keeps_the_two_apart(engine):
    named = event("person.updated", T0 + timedelta(days=30), crn="X000001", non_associations=["X000002"])
    corrected = event("person.updated", T0 + timedelta(days=31), crn="X000001", sex="MALE")
    both = [*a_group(), *person_with_referral("X000001"), *person_with_referral("X000002")]
    in_order = decide(engine, *both, named, corrected)
    late = decide(engine, *both, corrected, named)
    assert {in_order["referrals"][r][1] for r in ("REF-X000001", "REF-X000002")} == {"C1", None}
    assert late == in_order


def test_a_newer_availability_change_does_not_make_an_older_sex_correction_stale(engine):
    corrected = event("person.updated", T0 + timedelta(days=30), crn="X000001", sex="FEMALE")
    days = [{"weekday": 0, "period": "DAYTIME"}, {"weekday": 2, "period": "DAYTIME"}]  # C1's slots
    available = event("referral.availability_updated", T0 + timedelta(days=31), crn="X000001",
                      referral_id="REF-X000001", availability=days)
    in_order = decide(engine, *a_group(), *person_with_referral("X000001"), corrected, available)
    late = decide(engine, *a_group(), *person_with_referral("X000001"), available, corrected)
    assert in_order["referrals"]["REF-X000001"][:2] == ("AWAITING_ALLOCATION", None)  # a woman, a MALE group
    assert late == in_order


def test_an_older_availability_change_arriving_late_does_not_replace_a_newer_one(engine):
    evenings = event("referral.availability_updated", T0 + timedelta(days=30), crn="X000001",
                     referral_id="REF-X000001", availability=[{"weekday": 1, "period": "EVENING"}])
    days = event("referral.availability_updated", T0 + timedelta(days=31), crn="X000001", referral_id="REF-X000001",
                 availability=[{"weekday": 0, "period": "DAYTIME"}, {"weekday": 2, "period": "DAYTIME"}])
    in_order = decide(engine, *a_group(), *person_with_referral("X000001"), evenings, days)
    late = decide(engine, *a_group(), *person_with_referral("X000001"), days, evenings)
    assert in_order["referrals"]["REF-X000001"][:2] == ("SCHEDULED", "C1")  # C1 runs Monday and Wednesday days
    assert late == in_order


def test_a_confirmation_is_judged_by_the_facts_as_they_stand_whatever_arrived_first(engine):
    confirmed = event("cohort.confirmed", T0 + timedelta(days=30), key="RS", cohort_id="C1",
                      facilitator_ids=["F1", "F2"], members=["REF-X000001"])
    evenings = event("referral.availability_updated", T0 + timedelta(days=35), crn="X000001",
                     referral_id="REF-X000001", availability=[{"weekday": 1, "period": "EVENING"}])
    in_order = decide(engine, *a_group(), *person_with_referral("X000001"), confirmed, evenings)
    late = decide(engine, *a_group(), *person_with_referral("X000001"), evenings, confirmed)
    assert in_order["allocations"] == {}  # C1 meets on Monday days: released, confirmation.member_refused
    assert late == in_order


def test_a_confirmation_arriving_before_an_earlier_reschedule_does_not_start_the_cohort_on_its_old_date(engine):
    group = [cohort_planned("C1", date(2025, 2, 3), min_size=1), facilitator("F1"), facilitator("F2")]
    moved = event("cohort.rescheduled", T0 + timedelta(days=35), key="RS", cohort_id="C1", start_date=date(2025, 3, 10))
    confirmed = event("cohort.confirmed", T0 + timedelta(days=38), key="RS", cohort_id="C1",
                      facilitator_ids=["F1", "F2"])
    in_order = decide(engine, *group, moved, confirmed, as_of=date(2025, 2, 17))
    late = decide(engine, *group, confirmed, moved, as_of=date(2025, 2, 17))
    assert in_order["cohorts"]["C1"] == ("CONFIRMED", date(2025, 3, 10), ("F1", "F2"))
    assert late == in_order


# issue 12 long-run finding (fixed: a confirmation's claims are decided from the facts as they stand)
def test_a_correction_restating_a_womans_sex_does_not_decide_whether_a_confirmation_places_her(engine):
    *intake, assessed = person_with_referral("X000001", sex="FEMALE")
    male_group = [cohort_planned("C1", date(2025, 2, 3), min_size=1), facilitator("F1"), facilitator("F2")]
    confirmed = event("cohort.confirmed", T0 + timedelta(days=1, hours=5), key="RS", cohort_id="C1",
                      facilitator_ids=[], members=["REF-X000001"])
    restated = event("person.updated", T0 + timedelta(days=21, hours=5), crn="X000001", sex="FEMALE")
    in_order = decide(engine, *male_group, intake[0], intake[1], intake[2], confirmed, intake[3], assessed, restated)
    late = decide(engine, *male_group, intake[0], intake[1], intake[2], confirmed, intake[3], restated, assessed)
    assert in_order["referrals"]["REF-X000001"][:2] == ("AWAITING_ALLOCATION", None)
    assert late == in_order


# issue 12 long-run finding (fixed: the places an event touches are judged as of the event clock, not as of
# the event's own time): an older redefinition moving C1's start into the freeze window, arriving after a
# correction, left the place to a plan that only ran once C1 had started (kept, flagged) where in event
# order the correction found C1 frozen and removed the place.
def test_an_older_redefinition_arriving_after_a_correction_judges_the_place_as_of_when_it_is_applied(engine):
    group = [cohort_planned("C1", date(2025, 3, 31), sex="MIXED", min_size=1), facilitator("F1"), facilitator("F2")]
    redefined = cohort_planned("C1", date(2025, 3, 24), at=T0 + timedelta(days=59), sex="MIXED", min_size=1)
    monday_days = event("referral.availability_updated", T0 + timedelta(days=66), crn="X000001",
                        referral_id="REF-X000001", availability=[{"weekday": 0, "period": "DAYTIME"}])
    decisions = []
    for order in ((redefined, monday_days), (monday_days, redefined)):
        with engine.fresh(park_timeout=False) as h:
            engine.replay(h, [(date(2025, 2, 10), [*group, *person_with_referral("X000001")]),
                              (date(2025, 3, 24), list(order))])
            decisions.append(engine.state(h))
    assert decisions[0]["referrals"]["REF-X000001"][:2] == ("AWAITING_ALLOCATION", None)
    assert decisions[1] == decisions[0]


# issue 12 long-run finding (fixed: a redefinition keeps the start and slots a newer reschedule set)
def test_an_older_redefinition_arriving_after_a_newer_reschedule_keeps_the_rescheduled_start(engine):
    group = [cohort_planned("C1", date(2025, 2, 3), sex="MIXED", min_size=1), facilitator("F1"), facilitator("F2")]
    redefined = cohort_planned("C1", date(2025, 3, 24), at=T0 + timedelta(days=59), sex="MIXED", min_size=1,
                               slots=((1, "10:00"), (3, "10:00")))
    moved = event("cohort.rescheduled", T0 + timedelta(days=63), key="RS", cohort_id="C1", start_date=date(2025, 3, 31))
    in_order = decide(engine, *group, redefined, moved, as_of=date(2025, 3, 17))
    late = decide(engine, *group, moved, redefined, as_of=date(2025, 3, 17))
    assert in_order["cohorts"]["C1"][1] == date(2025, 3, 31)
    assert late == in_order


# Issue 18: facts from other systems, and the clock ------------------------------------------------------

def replay_file(h, lines: list[str]) -> ReplaySummary:
    """``lines`` as a file through the embedded replay (event-time order, weekly plans)."""
    replay = Replay(h.ingestor, Planner(h.db.uow, CurrentPracticeAllocator(), h.rules), plan_every=timedelta(days=7))
    return replay.run(RawEvent(line, "history.jsonl", n) for n, line in enumerate(lines, start=1))


# issue 18 finding 1 (fixed by 4364f08 while the generator was being written)
def test_a_requirement_arriving_after_its_sentence_was_terminated_is_withdrawn_as_in_event_order(engine):
    person, sentence, requirement, referral, assessed = person_with_referral("X000001")
    terminated = event("sentence.terminated", T0 + timedelta(days=30), crn="X000001", sentence_id="S-X000001",
                       terminated_on=date(2025, 2, 5), reason="REVOKED")
    in_order = decide(engine, *a_group(), person, sentence, requirement, referral, assessed, terminated)
    late = decide(engine, *a_group(), person, sentence, terminated, requirement, referral, assessed)
    assert in_order["referrals"]["REF-X000001"][:2] == ("WITHDRAWN", None)
    assert late == in_order


# issue 18 finding 2 (fixed by 4364f08 while the generator was being written)
def test_a_replayed_file_with_one_message_dated_years_back_still_applies_and_plans_the_rest(engine):
    behind = event("person.updated", datetime(2020, 1, 1, tzinfo=timezone.utc), crn="X000001", sex="MALE")
    with engine.fresh() as h:
        summary = replay_file(h, [*a_group(), *person_with_referral("X000001"), behind])
        assert [d["reason"] for d in h.dead_letters()] == []
        assert [p.as_of for p in summary.plans] == [date(2025, 1, 13), date(2025, 1, 20)]


# issue 18 finding 3 (fixed by 4364f08 while the generator was being written)
def test_a_redefinition_lowering_the_maximum_inside_the_freeze_window_leaves_no_cohort_over_it(engine):
    group = [facilitator("F1"), facilitator("F2"),
             cohort_line("C1", date(2025, 3, 10), at(1, 10), "MIXED", DAYTIME, 3, None)]
    people = [line for crn in ("X000001", "X000002", "X000003") for line in person_with_referral(crn)]
    redefined = cohort_line("C1", date(2025, 3, 10), at(50, 14), "MIXED", DAYTIME, 1, 2)  # 25 Feb: start in 13 days
    with engine.fresh() as h:  # the plan of 10 February fills C1 with three; that of 3 March may not move them
        engine.replay(h, [(date(2025, 2, 10), [*group, *people]), (date(2025, 3, 3), [redefined])])


# issue 18 finding 4 (fixed: a replayed line waits from the clock a service reading the file would have had)
def test_a_message_dated_years_back_waiting_in_a_replay_for_its_cohort_is_not_expired(engine):
    behind = event("cohort.rescheduled", T0 - timedelta(days=200), key="RS", cohort_id="C1",
                   start_date=date(2025, 3, 10))
    group = [facilitator("F1"), cohort_planned("C1", date(2025, 3, 3), at=T0 + timedelta(days=1), min_size=1)]
    with engine.fresh() as h:  # F1 starts the clock a day before C1 arrives
        replay_file(h, [*group, behind])
        check_dead_letters(h, {json.loads(behind)["event_id"]: "behind"}, span=timedelta(days=1))


# issue 18 finding 5 (fixed by 4364f08 while the generator was being written)
def test_an_older_confirmation_arriving_after_a_newer_one_leaves_the_newer_ones_refusals_alerted(engine):
    older = event("cohort.confirmed", T0 + timedelta(days=28), key="RS", cohort_id="C1", facilitator_ids=["F1", "F2"],
                  members=["REF-X000001"])
    newer = event("cohort.confirmed", T0 + timedelta(days=29), key="RS", cohort_id="C1", facilitator_ids=["F1", "F2"],
                  members=["REF-X000001", "REF-X000077"])
    for order in ((older, newer), (newer, older)):
        with engine.fresh() as h:
            last, = engine.replay(h, [(PLAN, [*a_group(), *person_with_referral("X000001"), *order])])
        assert last.alerts.open[MEMBER_REFUSED] == ["C1/REF-X000077"]


# issue 18 finding 6 (fixed by 4364f08 while the generator was being written)
def test_a_message_dated_2099_reaching_a_fresh_engine_first_does_not_set_the_clock(engine):
    ahead = event("person.updated", datetime(2099, 1, 1, tzinfo=timezone.utc), crn="X000001", sex="FEMALE")
    with engine.fresh() as h:
        engine.replay(h, [(PLAN, [ahead, *a_group(), *person_with_referral("X000001")])],
                      {json.loads(ahead)["event_id"]: "ahead"})


# issue 18 finding 7 (fixed: the replay's plans follow only messages the ingest takes)
def test_a_replay_plans_no_later_than_a_week_after_the_latest_valid_event_whatever_a_refused_message_says(engine):
    wrong_key = event("person.updated", T0 + timedelta(days=45), key="X000002", crn="X000001", sex="MALE")
    with engine.fresh() as h:  # the valid events end on 26 January (the assessment)
        summary = replay_file(h, [*a_group(), *person_with_referral("X000001"), wrong_key])
        check_dead_letters(h, {json.loads(wrong_key)["event_id"]: "key"})
    assert [p.as_of for p in summary.plans] == [date(2025, 1, 13), date(2025, 1, 20)]


# issue 18 finding 8 (fixed: claims are taken in the order their members became placeable)
def test_a_confirmation_over_the_maximum_before_assessment_places_the_first_assessed_whatever_arrives_first(engine):
    group = [facilitator("F1"), facilitator("F2"),
             cohort_line("C1", date(2025, 4, 7), at(9, 10), "MIXED", DAYTIME, 1, 2)]
    days = (("X000001", 3), ("X000002", 5), ("X000003", 6))
    people = {crn: person_with_referral(crn, at(day, 9)) for crn, day in days}
    intake = [line for lines in people.values() for line in lines[:-1]]
    confirmed = event("cohort.confirmed", at(10, 14), key="RS", cohort_id="C1", facilitator_ids=["F1", "F2"],
                      members=["REF-X000001", "REF-X000002", "REF-X000003"])
    assessed = [lines[-1] for lines in people.values()]  # 23, 25 and 26 January
    in_order = decide(engine, *group, *intake, confirmed, *assessed, as_of=date(2025, 3, 3))
    late = decide(engine, *group, *intake, confirmed, *reversed(assessed), as_of=date(2025, 3, 3))
    assert set(in_order["allocations"]) == {"REF-X000001", "REF-X000002"}
    assert late == in_order


# issue 18 finding 9 (fixed: a merge passes on the source's facts whenever they arrive)
def test_a_late_first_record_of_a_case_merged_into_an_unseen_crn_still_makes_its_referral_visible(engine):
    person, sentence, requirement, referral = person_with_referral("X000001", assessed=False)
    corrected = event("person.updated", T0 + timedelta(days=24), crn="X000001", sex="FEMALE")
    merged = event("case.merged", T0 + timedelta(days=36), key="X000091", source_crn="X000001", target_crn="X000091")
    in_order = decide(engine, *a_group(), person, sentence, requirement, referral, corrected, merged)
    late = decide(engine, *a_group(), merged, corrected, person, sentence, requirement, referral)
    assert in_order["referrals"]["REF-X000001"] == ("AWAITING_ASSESSMENT", None, "X000091")
    assert late == in_order


# issue 18 finding 10 (fixed: every plan re-staffs its own cohorts around the staff people fixed)
def test_a_confirmation_restaffing_a_cohort_the_plan_opened_leaves_no_staff_violation(engine):
    world = [*[facilitator(f"F{i}", hours=7.5) for i in range(1, 5)],
             cohort_line("C1", date(2025, 3, 3), at(1, 10), "MIXED", DAYTIME, 1, 2),
             cohort_line("C2", date(2025, 3, 10), at(1, 11), "MIXED", EVENING, 1, 2),
             *[line for i in range(1, 5)
               for line in person_with_referral(f"X00000{i}", at(1, 9) + timedelta(minutes=10 * i))]]
    with engine.fresh() as h:  # the plan of 3 February opens C1 with F1 and F2, C2 with F3 and F4
        engine.replay(h, [(date(2025, 2, 3), world)])
        assert h.allocation("REF-X000003").cohort_id == "C2"
        with h.db.uow() as uow:
            assert uow.cohorts.get("C2").facilitator_ids == ("F3", "F4")
        restaffed = event("cohort.confirmed", at(29, 14), key="RS", cohort_id="C1", facilitator_ids=["F3"], members=[])
        engine.replay(h, [(date(2025, 2, 10), [restaffed])])


# issue 18 finding 11 (fixed: the refusals are decided again from every confirmation's claims)
def test_an_older_confirmation_without_facilitators_arriving_last_leaves_the_newer_ones_refusals_alerted(engine):
    older = event("cohort.confirmed", T0 + timedelta(days=28), key="RS", cohort_id="C1", facilitator_ids=[], members=[])
    newer = event("cohort.confirmed", T0 + timedelta(days=29), key="RS", cohort_id="C1", facilitator_ids=[],
                  members=["REF-X000001", "REF-X000077"])
    for order in ((older, newer), (newer, older)):
        with engine.fresh() as h:
            last, = engine.replay(h, [(PLAN, [*a_group(), *person_with_referral("X000001"), *order])])
        assert last.alerts.open[MEMBER_REFUSED] == ["C1/REF-X000077"]


# issue 18 finding 12 (fixed: every confirmation's members keep their claims)
def test_a_member_named_before_assessment_keeps_the_claim_when_a_newer_confirmation_arrives_first(engine):
    *intake, assessed = person_with_referral("X000001")  # assessed on 26 January
    first = event("cohort.confirmed", T0 + timedelta(days=15), key="RS", cohort_id="C1", facilitator_ids=["F1", "F2"],
                  members=["REF-X000001"])
    second = event("cohort.confirmed", T0 + timedelta(days=22), key="RS", cohort_id="C1", facilitator_ids=["F1", "F2"],
                   members=["REF-X000077"])
    in_order = decide(engine, *a_group(), *intake, first, assessed, second)
    late = decide(engine, *a_group(), *intake, first, second, assessed)
    assert in_order["allocations"]["REF-X000001"] == ("C1", "DELIVERY", True)
    assert late == in_order


# issue 18 finding 13 (fixed: a claim is decided from the facts as they stand)
def test_an_older_fact_arriving_after_a_confirmation_decides_as_it_would_have_before_it(engine):
    group = [cohort_planned("C1", date(2025, 3, 3), slots=EVENING, sex="MIXED", min_size=1),
             facilitator("F1"), facilitator("F2")]
    days = event("referral.availability_updated", T0 + timedelta(days=28), crn="X000001", referral_id="REF-X000001",
                 availability=[{"weekday": 0, "period": "DAYTIME"}])
    confirmed = event("cohort.confirmed", T0 + timedelta(days=30), key="RS", cohort_id="C1", facilitator_ids=[],
                      members=["REF-X000001"])
    in_order = decide(engine, *group, *person_with_referral("X000001"), days, confirmed)
    late = decide(engine, *group, *person_with_referral("X000001"), confirmed, days)
    assert in_order["allocations"] == {}
    assert late == in_order


# Status changes out of order (tests/generative/test_status_orders.py, shrunk on the engine before the fix; the
# fault suite's finding in docs/RELIABILITY.md)
def _status(referral_id: str, at: datetime, to_status: str) -> str:
    crn = referral_id.removeprefix("REF-")
    return event("referral.status_changed", at, crn=crn, referral_id=referral_id, to_status=to_status)


def test_a_return_to_assessment_arriving_before_the_deprioritising_dated_before_it_is_not_refused(engine):
    """On the waiting list; deprioritised at 11:01, back to assessment at 12:03, which arrives first: it waits
    for the earlier change (it was a dead letter, and the referral stayed deprioritised)."""
    at = datetime(2025, 1, 27, 10, 0, tzinfo=timezone.utc)
    deprioritised = _status("REF-X000001", at + timedelta(minutes=61), "DEPRIORITISED")
    reopened = _status("REF-X000001", at + timedelta(minutes=123), "AWAITING_ASSESSMENT")
    in_order = decide(engine, *person_with_referral("X000001"), deprioritised, reopened)
    late = decide(engine, *person_with_referral("X000001"), reopened, deprioritised)
    assert in_order["referrals"]["REF-X000001"][0] == "AWAITING_ASSESSMENT"
    assert late == in_order
    with engine.fresh() as h:
        h.feed(*person_with_referral("X000001"), reopened, deprioritised)
        assert h.dead_letters() == []


def test_an_older_change_arriving_after_the_status_was_re_stated_does_not_move_the_referral(engine):
    """Awaiting assessment; deprioritised at 10:00, back to Awaiting assessment at 11:01. The second arrives
    first and only re-states the status; the first then moved the referral on its own (it stayed deprioritised)."""
    at = datetime(2025, 1, 27, 10, 0, tzinfo=timezone.utc)
    deprioritised = _status("REF-X000001", at, "DEPRIORITISED")
    reopened = _status("REF-X000001", at + timedelta(minutes=61), "AWAITING_ASSESSMENT")
    intake = person_with_referral("X000001", assessed=False)
    in_order = decide(engine, *intake, deprioritised, reopened)
    late = decide(engine, *intake, reopened, deprioritised)
    assert in_order["referrals"]["REF-X000001"][0] == "AWAITING_ASSESSMENT"
    assert late == in_order
