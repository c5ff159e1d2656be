"""Handlers: intake, parking, staleness, freeing places, rejections. On the in-memory store here; the same suite
runs on SQLite and PostgreSQL from tests/integration/on_databases."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from engine.domain.statuses import ReferralStatus as S
from tests.support.events import T0, cohort_planned, event, facilitator, person_with_referral
from tests.unit.engine.harness import Harness


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def group_of_eight(h: Harness, start: date = date(2025, 3, 3)) -> None:
    lines = [line for i in range(8) for line in person_with_referral(f"X{i:06d}")]
    h.feed(*lines, cohort_planned("C1", start), facilitator("F1"), facilitator("F2"))


def test_a_suitable_assessment_puts_the_referral_on_the_waiting_list(h):
    h.feed(*person_with_referral("X000001"))
    referral = h.referral("REF-X000001")
    assert referral.status == S.AWAITING_ALLOCATION
    assert referral.risk_band == "HIGH"
    assert [c.to_status for c in referral.history] == [S.AWAITING_ASSESSMENT, S.AWAITING_ALLOCATION]


def test_a_referral_that_arrives_before_its_requirement_is_parked_and_applied_when_it_arrives(h):
    person, sentence, requirement, referral, assessed = person_with_referral("X000002")
    first = h.feed(referral, assessed)
    assert first.parked == 2 and h.referral("REF-X000002") is None
    second = h.feed(person, sentence, requirement)
    assert second.unparked == 2
    assert h.referral("REF-X000002").status == S.AWAITING_ALLOCATION


def test_the_same_event_twice_is_applied_once(h):
    lines = person_with_referral("X000003")
    result = h.feed(*lines, *lines)
    assert result.duplicates == len(lines)
    assert len(h.referral("REF-X000003").history) == 2
    again = h.feed(*lines)
    assert again.duplicates == len(lines) and again.applied == 0


def test_an_event_older_than_the_state_it_would_change_is_recorded_and_ignored(h):
    h.feed(event("person.updated", T0 + timedelta(days=2), crn="X000004", region_code="RS", pdu_code="RS-P02"))
    result = h.feed(event("person.updated", T0, crn="X000004", pdu_code="RS-P09"))
    assert result.stale == 1
    with h.db.uow() as uow:
        assert uow.people.get("X000004").pdu_code == "RS-P02"


def test_scheduling_by_a_status_event_is_refused_with_both_statuses_named(h):
    h.feed(*person_with_referral("X000005"))
    result = h.feed(event("referral.status_changed", T0 + timedelta(days=30), crn="X000005",
                          referral_id="REF-X000005", to_status="Scheduled"))
    assert result.dead_lettered == 1
    reason = h.dead_letters()[-1]["reason"]
    assert "AWAITING_ALLOCATION" in reason and "SCHEDULED" in reason and "allocation" in reason


def test_an_impossible_transition_goes_to_the_dead_letters_and_processing_continues(h):
    h.feed(*person_with_referral("X000006"))
    bad = event("referral.status_changed", T0 + timedelta(days=30), crn="X000006", referral_id="REF-X000006",
                to_status="PROGRAMME_COMPLETE")
    good = event("person.updated", T0 + timedelta(days=31), crn="X000006", pdu_code="RS-P03")
    result = h.feed(bad, good)
    assert result.dead_lettered == 1 and result.applied == 1
    assert "cannot move from AWAITING_ALLOCATION to PROGRAMME_COMPLETE" in h.dead_letters()[-1]["reason"]
    assert h.referral("REF-X000006").status == S.AWAITING_ALLOCATION


@pytest.mark.parametrize("raw, expected", [
    ("{not json", "bad JSON"),
    (json.dumps({"event_type": "person.updated"}), "invalid envelope"),
    (event("no.such_type", crn="X1"), "unknown event_type"),
    (event("sentence.imposed", crn="X000007", sentence_id="S", sentence_type="COMMUNITY_ORDER",
           start_date="2025-01-01", expected_end_date="not a date"), "expected_end_date"),
])
def test_invalid_input_is_dead_lettered_with_its_reason_and_raw_text(h, raw, expected):
    result = h.feed(raw)
    letter = h.dead_letters()[-1]
    assert result.dead_lettered == 1 and expected in letter["reason"]
    assert letter["raw"] == raw and letter["line_number"] == 1


def test_an_assessment_without_risk_scores_is_rejected_rather_than_guessed(h):
    lines = person_with_referral("X000008", assessed=False)
    result = h.feed(*lines, event("referral.assessed", T0 + timedelta(days=20), crn="X000008",
                                  referral_id="REF-X000008", outcome="SUITABLE"))
    assert result.dead_lettered == 1 and "risk" in h.dead_letters()[-1]["reason"].lower()


def test_an_unknown_programme_code_is_named_in_the_dead_letter(h):
    person, sentence, *_ = person_with_referral("X000009")
    result = h.feed(person, sentence, event("requirement.created", crn="X000009", sentence_id="S-X000009",
                                            requirement_id="RQ-1", programme_code="NOPE"))
    assert result.dead_lettered == 1 and "NOPE" in h.dead_letters()[-1]["reason"]


def test_a_plan_places_eight_waiting_people_on_a_planned_cohort_and_publishes_why(h):
    group_of_eight(h)
    outcome = h.plan(date(2025, 2, 10))
    assert outcome.made == 8 and outcome.opened == 1
    made = h.outbox("allocation.made")
    assert len(made) == 8 and all("C1" in json.loads(m["message"])["payload"]["reason"] for m in made)
    assert h.referral("REF-X000000").status == S.SCHEDULED
    assert len(h.outbox("cohort.proposed")) == 1 and len(h.outbox("plan.published")) == 1


def test_a_sentence_amended_to_end_before_the_cohort_frees_the_place_with_the_reason(h):
    group_of_eight(h)
    h.plan(date(2025, 2, 10))
    h.feed(event("sentence.amended", T0 + timedelta(days=40), crn="X000001", sentence_id="S-X000001",
                 expected_end_date=date(2025, 6, 1)))
    assert h.referral("REF-X000001").status == S.AWAITING_ALLOCATION
    assert h.allocation("REF-X000001") is None
    removed = [json.loads(m["message"])["payload"] for m in h.outbox("allocation.removed")]
    assert len(removed) == 1 and "2025-06-01" in removed[0]["reason"]


def test_a_later_end_date_keeps_the_place(h):
    group_of_eight(h)
    h.plan(date(2025, 2, 10))
    h.feed(event("sentence.amended", T0 + timedelta(days=40), crn="X000001", sentence_id="S-X000001",
                 expected_end_date=date(2028, 1, 1)))
    assert h.referral("REF-X000001").status == S.SCHEDULED and h.allocation("REF-X000001") is not None


def test_a_terminated_requirement_withdraws_the_referral_through_return_to_court_and_frees_its_place(h):
    group_of_eight(h)
    h.plan(date(2025, 2, 10))
    h.feed(event("requirement.terminated", T0 + timedelta(days=40), crn="X000002", requirement_id="RQ-X000002",
                 terminated_on=date(2025, 2, 15), reason="REVOKED"))
    referral = h.referral("REF-X000002")
    assert [c.to_status for c in referral.history][-2:] == [S.RETURN_TO_COURT, S.WITHDRAWN]
    assert referral.cohort_id is None and h.allocation("REF-X000002") is None
    assert len(h.outbox("allocation.removed")) == 1


def test_recall_moves_the_referral_to_recall_and_custody_withdraws_it(h):
    h.feed(*person_with_referral("X000010"))
    h.feed(event("enforcement.recall_raised", T0 + timedelta(days=30), crn="X000010", sentence_id="S-X000010",
                 recall_id="RC1", raised_on=date(2025, 2, 5)))
    assert h.referral("REF-X000010").status == S.RECALL
    h.feed(event("enforcement.recall_concluded", T0 + timedelta(days=50), crn="X000010", sentence_id="S-X000010",
                 recall_id="RC1", concluded_on=date(2025, 2, 25), outcome="CUSTODY"))
    assert h.referral("REF-X000010").status == S.WITHDRAWN


def test_attendance_starts_and_completes_the_programme(h):
    group_of_eight(h)
    h.plan(date(2025, 2, 10))
    common = dict(key="RS", cohort_id="C1", referral_id="REF-X000003")
    h.feed(event("attendance.recorded", T0 + timedelta(days=60), session_number=1, session_date=date(2025, 3, 3),
                 outcome="ATTC", **common))
    assert h.referral("REF-X000003").status == S.ON_PROGRAMME
    h.feed(event("attendance.recorded", T0 + timedelta(days=250), session_number=27,
                 session_date=date(2025, 9, 1), outcome="ATTC", final_session=True, **common))
    assert h.referral("REF-X000003").status == S.PROGRAMME_COMPLETE


def test_a_breach_on_programme_frees_the_place_and_a_continue_outcome_returns_to_assessment(h):
    group_of_eight(h)
    h.plan(date(2025, 2, 10))
    h.feed(event("attendance.recorded", T0 + timedelta(days=60), key="RS", cohort_id="C1",
                 referral_id="REF-X000004", session_number=1, session_date=date(2025, 3, 3), outcome="ATTC"))
    h.feed(event("enforcement.breach_raised", T0 + timedelta(days=90), crn="X000004", sentence_id="S-X000004",
                 breach_id="B1", raised_on=date(2025, 4, 5)))
    assert h.referral("REF-X000004").status == S.BREACH and h.allocation("REF-X000004") is None
    h.feed(event("enforcement.breach_concluded", T0 + timedelta(days=120), crn="X000004",
                 sentence_id="S-X000004", breach_id="B1", concluded_on=date(2025, 5, 5), outcome="CONTINUE"))
    assert h.referral("REF-X000004").status == S.AWAITING_ASSESSMENT


def test_a_cancelled_cohort_returns_its_members_to_the_waiting_list(h):
    group_of_eight(h)
    h.plan(date(2025, 2, 10))
    h.feed(event("cohort.cancelled", T0 + timedelta(days=40), key="RS", cohort_id="C1", reason="venue closed"))
    assert h.referral("REF-X000005").status == S.AWAITING_ALLOCATION
    assert len(h.outbox("allocation.removed")) == 8


def test_a_merged_case_moves_referrals_to_the_target_crn(h):
    h.feed(*person_with_referral("X000011"), event("person.updated", crn="X000012", region_code="RS"))
    h.feed(event("case.merged", T0 + timedelta(days=30), source_crn="X000011", target_crn="X000012"))
    assert h.referral("REF-X000011").crn == "X000012"
    with h.db.uow() as uow:
        assert uow.people.get("X000011").merged_into == "X000012"


def test_the_next_plan_keeps_places_and_publishes_no_changes(h):
    group_of_eight(h)
    h.plan(date(2025, 2, 10))
    again = h.plan(date(2025, 2, 11))
    assert (again.made, again.changed, again.removed) == (0, 0, 0)


def test_a_person_who_can_no_longer_attend_their_group_loses_the_place_at_once_and_the_next_plan_moves_them(h):
    """Availability that makes attendance impossible is a rule (issue 12): the place goes when the change
    arrives, not at the next plan (it used to stand until then, published as ``allocation.changed``)."""
    lines = [line for i in range(8) for line in person_with_referral(f"X{i:06d}")]
    lines += [line for i in range(8, 20) for line in person_with_referral(f"X{i:06d}")]  # both groups open
    h.feed(*lines, cohort_planned("C1", date(2025, 3, 3)), facilitator("F1"), facilitator("F2"),
           facilitator("F3"), facilitator("F4"),
           cohort_planned("C2", date(2025, 3, 4), slots=((1, "18:00"),)))
    h.plan(date(2025, 2, 10))
    placed = {m["referral_id"]: m["cohort_id"] for m in
              (json.loads(x["message"])["payload"] for x in h.outbox("allocation.made"))}
    mover = next(rid for rid, cohort in sorted(placed.items()) if cohort == "C1")
    crn = mover.removeprefix("REF-")
    h.feed(event("referral.availability_updated", T0 + timedelta(days=40), crn=crn, referral_id=mover,
                 availability=[{"weekday": 1, "period": "EVENING"}]))
    removed = [json.loads(x["message"])["payload"] for x in h.outbox("allocation.removed")]
    assert [(r["referral_id"], r["previous_cohort_id"]) for r in removed] == [(mover, "C1")]
    assert "availability" in removed[0]["reason"] and h.referral(mover).cohort_id is None
    outcome = h.plan(date(2025, 2, 11))
    assert (outcome.made, outcome.changed) == (1, 0)
    made = [json.loads(x["message"])["payload"] for x in h.outbox("allocation.made")]
    assert (made[-1]["referral_id"], made[-1]["cohort_id"]) == (mover, "C2")
    assert h.allocation(mover).cohort_id == "C2" and h.referral(mover).status == S.SCHEDULED
