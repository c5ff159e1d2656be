from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain.errors import DomainError
from engine.domain.policies import (
    OffenceCohort, Pathway, RiskBand, deadline, is_ldc, need_band, offence_cohort, pathway, priority_key,
    risk_band,
)

# --- risk band ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ogrs3, band", [(75, "HIGH"), (99.9, "HIGH"), (74.9, "MEDIUM"), (50, "MEDIUM"),
                                         (49.99, "LOW"), (0, "LOW")])
def test_ogrs3_bands(ogrs3, band):
    assert risk_band(ogrs3=ogrs3) == band


@pytest.mark.parametrize("ovp, band", [(60, "HIGH"), (59, "MEDIUM"), (30, "MEDIUM"), (29, "LOW")])
def test_ovp_bands(ovp, band):
    assert risk_band(ovp=ovp) == band


@pytest.mark.parametrize("rsr, band", [(3.0, "HIGH"), (2.99, "MEDIUM"), (1.0, "MEDIUM"), (0.99, "LOW")])
def test_rsr_bands(rsr, band):
    assert risk_band(rsr=rsr) == band


@pytest.mark.parametrize("level, band", [("HIGH", "HIGH"), ("High", "HIGH"), ("very high", "HIGH"),
                                         ("MEDIUM", "MEDIUM"), ("low", "LOW")])
def test_osp_and_sara_are_taken_as_stated(level, band):
    assert risk_band(osp=level) == band
    assert risk_band(sara=level) == band


def test_overall_risk_is_the_highest_band_of_any_predictor():
    assert risk_band(ogrs3=10, ovp=35, rsr=0.5) == RiskBand.MEDIUM
    assert risk_band(ogrs3=10, ovp=10, rsr=0.5, sara="HIGH") == RiskBand.HIGH
    assert risk_band(ogrs3=10, ovp=10, rsr=0.1, osp="LOW", sara="LOW") == RiskBand.LOW


@given(scores=st.lists(st.sampled_from(["HIGH", "MEDIUM", "LOW"]), min_size=1, max_size=2))
def test_adding_a_predictor_never_lowers_the_band(scores):
    rank = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
    with_one = risk_band(osp=scores[0])
    with_all = risk_band(osp=scores[0], sara=scores[-1])
    assert rank[with_all] <= rank[with_one]


def test_no_predictor_at_all_is_not_taken_as_low_risk():
    with pytest.raises(DomainError, match="no risk predictor"):
        risk_band()


@pytest.mark.parametrize("kwargs", [{"ogrs3": -1}, {"ogrs3": 101}, {"rsr": "3"}, {"ovp": True},
                                    {"osp": "SEVERE"}, {"sara": 3}])
def test_malformed_predictors_are_refused(kwargs):
    with pytest.raises(DomainError):
        risk_band(**kwargs)


# --- need, pathway ------------------------------------------------------------------------------

@pytest.mark.parametrize("score, band", [(0, "LOW"), (2, "LOW"), (3, "MEDIUM"), (5, "MEDIUM"), (6, "HIGH"),
                                         (8, "HIGH")])
def test_need_bands(score, band):
    assert need_band(score) == band


@pytest.mark.parametrize("score", [-1, 9, 2.5, True])
def test_need_scores_outside_zero_to_eight_are_refused(score):
    with pytest.raises(DomainError):
        need_band(score)


@pytest.mark.parametrize("risk, need, expected", [
    ("HIGH", "HIGH", Pathway.HIGH),
    ("HIGH", "MEDIUM", Pathway.MODERATE),
    ("MEDIUM", "HIGH", Pathway.MODERATE),
    ("MEDIUM", "MEDIUM", Pathway.MODERATE),
    ("LOW", "HIGH", Pathway.ALTERNATIVE),
    ("HIGH", "LOW", Pathway.ALTERNATIVE),
    ("LOW", "LOW", Pathway.ALTERNATIVE),
])
def test_pathway_from_risk_and_need(risk, need, expected):
    assert pathway(risk, need) == expected


def test_an_unknown_band_is_refused_by_pathway():
    with pytest.raises(DomainError, match="risk band"):
        pathway("VERY_HIGH", "HIGH")


# --- offence cohort, LDC ------------------------------------------------------------------------

def test_offence_cohort_is_general_without_sexual_predictor_or_score():
    assert offence_cohort() == OffenceCohort.GENERAL_OFFENCE
    assert offence_cohort(osp="Not applicable") == "GENERAL_OFFENCE"


@pytest.mark.parametrize("osp, score", [("LOW", 0), ("HIGH", 0), (None, 1), ("N/A", 2)])
def test_offence_cohort_is_sexual_when_a_predictor_applies_or_a_sex_domain_score_is_positive(osp, score):
    assert offence_cohort(osp=osp, sexual_domain_score=score) == OffenceCohort.SEXUAL_OFFENCE


def test_a_negative_sex_domain_score_is_refused():
    with pytest.raises(DomainError):
        offence_cohort(sexual_domain_score=-1)


def test_ldc_from_a_subtotal_of_three_or_more():
    assert not is_ldc(2) and is_ldc(3) and is_ldc(7)


# --- deadline and priority ----------------------------------------------------------------------

def test_deadline_is_the_earlier_of_requirement_and_sentence_end():
    assert deadline(date(2026, 6, 1), date(2027, 1, 1)) == date(2026, 6, 1)
    assert deadline(date(2027, 6, 1), date(2027, 1, 1)) == date(2027, 1, 1)


def test_deadline_is_the_sentence_end_when_the_requirement_has_none():
    assert deadline(None, date(2027, 1, 1)) == date(2027, 1, 1)


def test_waiting_list_order_is_risk_then_deadline_then_referral_date():
    referrals = {
        "low-urgent": ("LOW", date(2026, 2, 1), date(2025, 1, 1)),
        "high-late": ("HIGH", date(2027, 1, 1), date(2025, 6, 1)),
        "high-soon-new": ("HIGH", date(2026, 6, 1), date(2025, 9, 1)),
        "high-soon-old": ("HIGH", date(2026, 6, 1), date(2025, 3, 1)),
        "medium": ("MEDIUM", date(2026, 3, 1), date(2025, 1, 1)),
    }
    ordered = sorted(referrals, key=lambda name: priority_key(*referrals[name]))
    assert ordered == ["high-soon-old", "high-soon-new", "high-late", "medium", "low-urgent"]


def test_priority_refuses_an_unknown_band():
    with pytest.raises(DomainError):
        priority_key("URGENT", date(2026, 1, 1), date(2025, 1, 1))
