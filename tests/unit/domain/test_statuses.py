"""The referral status graph: every allowed move, every refused one, and the append-only history."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine.domain.errors import DomainError
from engine.domain.model import Referral
from engine.domain.statuses import (TRANSITIONS, InvalidTransition, ReferralStatus as S, parse_status, path_to)

AT = datetime(2025, 1, 6, tzinfo=timezone.utc)
ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
REFUSED = [(a, b) for a in S for b in S if b not in TRANSITIONS[a]]


def referral(status: S, cohort_id: str | None = None) -> Referral:
    return Referral("R1", "X1", "RQ1", "BC-M", "COMMUNITY", date(2025, 1, 1), status=status, cohort_id=cohort_id)


def test_the_graph_matches_the_design_edge_count():
    assert len(ALLOWED) == 30
    assert TRANSITIONS[S.PROGRAMME_COMPLETE] == TRANSITIONS[S.WITHDRAWN] == frozenset()


@pytest.mark.parametrize("a, b", ALLOWED)
def test_every_allowed_transition_is_applied_and_kept_in_history(a, b):
    r = referral(a)
    r.move_to(b, AT, "because", "E1", by_allocation=True)
    assert r.status == b and r.history[-1].from_status == a and r.history[-1].to_status == b


@pytest.mark.parametrize("a, b", REFUSED)
def test_every_other_transition_is_refused_naming_both_statuses(a, b):
    r = referral(a)
    with pytest.raises(InvalidTransition) as error:
        r.move_to(b, AT, "because", by_allocation=True)
    assert str(a) in str(error.value) and str(b) in str(error.value)
    assert r.status == a and r.history == []


def test_only_an_allocation_can_schedule():
    with pytest.raises(InvalidTransition, match="only an allocation"):
        referral(S.AWAITING_ALLOCATION).move_to(S.SCHEDULED, AT, "by hand")


def test_a_continuing_move_keeps_the_place_and_any_other_frees_it():
    r = referral(S.SCHEDULED, cohort_id="C1")
    assert r.move_to(S.ON_PROGRAMME, AT, "attended") is False and r.cohort_id == "C1"
    assert r.move_to(S.BREACH, AT, "breach") is True and r.cohort_id is None


def test_history_is_only_ever_appended():
    r = referral(S.AWAITING_ASSESSMENT)
    r.move_to(S.SUITABLE_NOT_READY, AT, "not ready")
    first = list(r.history)
    r.move_to(S.AWAITING_ASSESSMENT, AT, "ready")
    assert r.history[:1] == first and len(r.history) == 2


@pytest.mark.parametrize("text", ["Awaiting allocation", "EIBB", "awaiting_allocation", "AWAITING-ALLOCATION"])
def test_status_names_labels_and_ndelius_codes_are_understood(text):
    assert parse_status(text) == S.AWAITING_ALLOCATION


def test_an_unknown_status_is_named():
    with pytest.raises(DomainError, match="'ALMOST DONE'"):
        parse_status("ALMOST DONE")


def test_a_referral_is_closed_step_by_step_along_the_graph():
    assert path_to(S.SUITABLE_NOT_READY, S.WITHDRAWN)[-1] == S.WITHDRAWN
    assert path_to(S.RETURN_TO_COURT, S.WITHDRAWN) == [S.WITHDRAWN]
    with pytest.raises(InvalidTransition):
        path_to(S.WITHDRAWN, S.AWAITING_ASSESSMENT)
