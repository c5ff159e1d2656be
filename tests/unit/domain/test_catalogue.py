from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from engine.domain.errors import DomainError, UnknownProgramme
from engine.domain.programmes import (
    GapFrom, Intake, LdcRule, SessionKind, load_catalogue, parse_catalogue,
)

CALIBRATION_CODES = ["BC-M", "BC-H", "BBR", "TSP", "RES", "HZN", "IHZ", "KZN", "NMS", "BNM", "DIDP", "LNM"]


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def raw_v1() -> dict:
    text = (resources.files("engine.domain") / "data" / "programmes_v1.json").read_text(encoding="utf-8")
    return json.loads(text)


def kinds(programme) -> dict[SessionKind, int]:
    counts = {kind: 0 for kind in SessionKind}
    for session in programme.sessions_in_order:
        counts[session.kind] += 1
    return counts


def test_every_calibration_programme_is_in_the_catalogue(catalogue):
    assert sorted(catalogue.codes) == sorted(CALIBRATION_CODES)
    assert len(catalogue) == 12
    assert catalogue.version == "2026.1"


def test_the_catalogue_is_loaded_once_per_process():
    assert load_catalogue() is load_catalogue("v1")


def test_building_choices_moderate_has_27_sessions_of_which_21_group(catalogue):
    bcm = catalogue.get("BC-M")
    assert bcm.session_count == 27 == len(bcm.sessions_in_order)
    assert bcm.group_session_count == 21
    assert bcm.session_count - bcm.group_session_count == 6  # one-to-ones and three-way meetings
    assert bcm.cadences == (1, 2)
    assert bcm.pathways == frozenset({"MODERATE"})
    assert bcm.eligible_sexes == frozenset({"MALE", "FEMALE"})
    assert bcm.offence_cohorts == frozenset({"GENERAL_OFFENCE", "SEXUAL_OFFENCE"})


def test_building_choices_starts_with_the_pre_group_and_ends_with_the_review(catalogue):
    sessions = catalogue.get("BC-M").sessions_in_order
    pre, first_group, review = sessions[0], sessions[1], sessions[-1]
    assert (pre.kind, pre.minutes) == (SessionKind.ONE_TO_ONE, 60)
    assert (first_group.kind, first_group.minutes, first_group.min_gap_weeks_before) == (SessionKind.GROUP, 150, 3)
    assert (review.kind, review.min_gap_weeks_before, review.min_gap_from) == (
        SessionKind.ONE_TO_ONE, 6, GapFrom.LAST_GROUP_SESSION)
    assert [s.module for s in sessions].count("Getting started") == 3


def test_expanding_a_run_keeps_its_gap_on_the_first_session_only(catalogue):
    sessions = catalogue.get("BC-M").sessions_in_order
    assert [s.min_gap_weeks_before for s in sessions[1:4]] == [3, None, None]
    assert all(s.count == 1 for s in sessions)


@pytest.mark.parametrize("code, group, one_to_one, three_way", [
    ("BC-H", 40, 10, 0),
    ("BBR", 27, 3, 0),
    ("TSP", 15, 5, 0),
    ("RES", 22, 4, 1),
    ("HZN", 31, 4, 0),
    ("IHZ", 23, 4, 0),
    ("KZN", 50, 7, 0),
    ("NMS", 25, 0, 0),
    ("BNM", 30, 0, 0),
    ("DIDP", 14, 1, 1),
    ("LNM", 5, 0, 0),
])
def test_session_counts_follow_the_calibration_table(catalogue, code, group, one_to_one, three_way):
    assert kinds(catalogue.get(code)) == {
        SessionKind.GROUP: group, SessionKind.ONE_TO_ONE: one_to_one, SessionKind.THREE_WAY: three_way}


def test_drink_impaired_drivers_groups_last_two_hours(catalogue):
    assert {s.minutes for s in catalogue.get("DIDP").sessions_in_order if s.is_group} == {120}


@pytest.mark.parametrize("code, months", [
    ("BBR", 6), ("HZN", 12), ("KZN", 12), ("BNM", 12), ("DIDP", 12), ("BC-M", None), ("TSP", None),
])
def test_minimum_order_lengths(catalogue, code, months):
    assert catalogue.get(code).min_order_months == months


def test_staffing_and_size_defaults_apply_to_every_programme(catalogue):
    for programme in catalogue:
        assert programme.facilitators_per_group == 2
        assert programme.facilitators_per_one_to_one == 1
        assert programme.prep_minutes_per_group_session == 60
        assert programme.hard_min_size == 4
        if programme.code != "IHZ":
            assert (programme.min_size, programme.max_size) == (6, 12)


def test_ihorizon_runs_groups_of_eight_to_ten_weekly(catalogue):
    ihz = catalogue.get("IHZ")
    assert (ihz.min_size, ihz.max_size, ihz.cadences) == (8, 10, (1,))


def test_only_living_as_new_me_has_rolling_intake(catalogue):
    assert [p.code for p in catalogue if p.intake is Intake.ROLLING] == ["LNM"]
    assert catalogue.get("LNM").intake is Intake.ROLLING


def test_ldc_only_programmes_refuse_people_without_ldc(catalogue):
    ldc_only = {p.code for p in catalogue if p.ldc_rule is LdcRule.LDC_ONLY}
    assert ldc_only == {"NMS", "BNM", "LNM"}
    assert not catalogue.get("NMS").allows_ldc(False)
    assert catalogue.get("NMS").allows_ldc(True)
    assert catalogue.get("BC-M").allows_ldc(False) and catalogue.get("BC-M").allows_ldc(True)


def test_men_only_programmes_refuse_women(catalogue):
    assert not catalogue.get("BBR").allows_sex("FEMALE")
    assert catalogue.get("BC-M").allows_sex("FEMALE")


def test_building_choices_high_is_the_high_intensity_pathway(catalogue):
    assert catalogue.get("BC-H").pathways == frozenset({"HIGH"})


def test_an_unknown_code_names_itself_and_the_known_codes(catalogue):
    with pytest.raises(UnknownProgramme) as raised:
        catalogue.get("XYZ")
    message = str(raised.value)
    assert "'XYZ'" in message and "BC-M" in message and "LNM" in message
    assert isinstance(raised.value, DomainError)
    assert raised.value.code == "XYZ"


def test_indexing_by_an_unknown_code_raises_the_same_error(catalogue):
    with pytest.raises(UnknownProgramme):
        catalogue["NOPE"]
    assert "BC-M" in catalogue and "NOPE" not in catalogue


def test_an_unknown_catalogue_version_is_a_domain_error():
    with pytest.raises(DomainError, match="programmes_v1.json"):
        load_catalogue("v999")


def test_a_typo_in_reference_data_is_refused():
    raw = copy.deepcopy(raw_v1())
    raw["programmes"][0]["sessions"][0]["minuts"] = 60
    with pytest.raises(DomainError, match="minuts"):
        parse_catalogue(raw)


def test_a_duplicate_code_is_refused():
    raw = copy.deepcopy(raw_v1())
    raw["programmes"].append(raw["programmes"][0])
    with pytest.raises(DomainError, match="BC-M appears twice"):
        parse_catalogue(raw)


@pytest.mark.parametrize("field, value", [
    ("min_size", 13), ("hard_min_size", 0), ("cadences", []), ("eligible_sexes", ["MIXED"]),
    ("pathways", ["ALTERNATIVE"]), ("intake", "OPEN"),
])
def test_inconsistent_programme_data_is_refused(field, value):
    raw = copy.deepcopy(raw_v1())
    raw["programmes"][0][field] = value
    with pytest.raises(DomainError, match="BC-M"):
        parse_catalogue(raw)


def test_programmes_are_immutable(catalogue):
    with pytest.raises(AttributeError):
        catalogue.get("BC-M").max_size = 20  # type: ignore[misc]
    with pytest.raises(TypeError):
        catalogue.programmes["X"] = catalogue.get("BC-M")  # type: ignore[index]
