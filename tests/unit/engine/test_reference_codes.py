"""Codes must be known reference data (issue 12): an unknown programme, region, PDU or office code is a dead
letter whose reason names the field, the value and the known codes, and nothing changes."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from engine.domain.errors import DomainError
from engine.domain.programmes import load_catalogue
from engine.domain.regions import load_region
from engine.events import inbound as i
from engine.events.registry import INBOUND
from engine.handlers import HANDLERS
from engine.handlers.reference import CODED_FIELDS, UnknownCode, check_codes, shipped_regions
from tests.contract.test_schemas import golden
from tests.support.events import T0, cohort_planned, event, facilitator, person_with_referral
from tests.unit.engine.harness import Harness


@pytest.fixture
def h(store) -> Harness:
    return Harness(store)


def with_payload(event_type: str, **fields: Any) -> str:
    data = golden(event_type)
    data["payload"].update(fields)
    return json.dumps(data)


def dead_letter(h: Harness, line: str) -> str:
    result = h.feed(line)
    assert result.dead_lettered == 1 and result.applied == 0, result
    return h.dead_letters()[-1]["reason"]


# --- through the ingest: dead letters, nothing changed -------------------------------------------

def test_an_unknown_region_code_is_a_dead_letter_naming_the_field_and_value(h):
    reason = dead_letter(h, event("person.updated", crn="X000001", region_code="ZZ", pdu_code="RS-P01"))
    assert reason.startswith("person.updated rejected: region_code 'ZZ' is not a known region code")
    assert "known: RN, RS" in reason
    with h.db.uow() as uow:
        assert uow.people.get("X000001") is None


def test_a_pdu_of_another_region_is_a_dead_letter(h):
    reason = dead_letter(h, event("person.updated", crn="X000001", region_code="RS", pdu_code="NE-P01"))
    assert "pdu_code 'NE-P01' is not a known PDU code of region RS; known: RS-P01, RS-P02" in reason
    assert "(10 in all)" in reason


def test_a_partial_person_update_checks_its_pdu_against_every_shipped_region(h):
    h.feed(*person_with_referral("X000002"))
    reason = dead_letter(h, event("person.updated", T0 + timedelta(days=40), crn="X000002", pdu_code="RS-P99"))
    assert "pdu_code 'RS-P99' is not a known PDU code of any shipped region" in reason
    with h.db.uow() as uow:
        assert uow.people.get("X000002").pdu_code == "RS-P01"


def test_an_unknown_office_on_a_planned_cohort_is_a_dead_letter_and_no_cohort_exists(h):
    reason = dead_letter(h, cohort_planned("C1", T0.date(), office="RS-P01-O9"))
    assert reason.startswith("cohort.planned rejected: office_code 'RS-P01-O9' is not a known office code of "
                             "region RS; known: RS-P01-O1")
    assert "(30 in all)" in reason
    with h.db.uow() as uow:
        assert uow.cohorts.get("C1") is None


def test_an_unknown_programme_in_a_facilitators_list_names_its_position(h):
    reason = dead_letter(h, facilitator("F1", programmes=("BC-M", "XYZ")))
    version = load_catalogue().version
    assert f"programmes[1] 'XYZ' is not a known programme code of programme catalogue {version}; known: BBR, BC-H, " \
           "BC-M, BNM, DIDP, HZN, IHZ, KZN, … (12 in all)" in reason
    with h.db.uow() as uow:
        assert uow.facilitators.get("F1") is None


def test_an_unknown_home_pdu_is_a_dead_letter(h):
    line = event("facilitator.registered", key="RS", facilitator_id="F1", region_code="RS", home_pdu="RS-P11",
                 programmes=["BC-M"], offices=["RS-P01-O1"], weekly_hours=22)
    assert "home_pdu 'RS-P11' is not a known PDU code of region RS" in dead_letter(h, line)


def test_unknown_offices_on_a_referral_or_an_updated_facilitator_are_dead_letters(h):
    h.feed(*person_with_referral("X000003"), facilitator("F1"))
    at = T0 + timedelta(days=30)
    reason = dead_letter(h, event("referral.availability_updated", at, crn="X000003", referral_id="REF-X000003",
                                  preferred_offices=["RS-P01-O1"], cannot_attend_offices=["OFF9"]))
    assert "cannot_attend_offices[0] 'OFF9' is not a known office code of any shipped region" in reason
    reason = dead_letter(h, event("facilitator.updated", at, key="RS", facilitator_id="F1", offices=["LONDON"]))
    assert "offices[0] 'LONDON'" in reason


@pytest.mark.parametrize("event_type", ["requirement.created", "licence_condition.created", "referral.created"])
def test_an_unknown_programme_code_is_a_dead_letter_naming_the_field(h, event_type):
    reason = dead_letter(h, with_payload(event_type, programme_code="BC-Z"))
    assert f"{event_type} rejected: programme_code 'BC-Z' is not a known programme code" in reason


def test_known_codes_apply(h):
    result = h.feed(*person_with_referral("X000004", pdu="RS-P10"), cohort_planned("C2", T0.date(), office="RS-P10-O3"),
                    facilitator("F2", programmes=("BC-M", "BC-H", "DIDP"), offices=("RS-P01-O1", "RS-P10-O2")))
    assert result.dead_lettered == 0 and result.applied == 7


# --- the check itself -------------------------------------------------------------------------------

def test_the_known_regions_are_the_shipped_profiles():
    region = load_region("default")
    codes = shipped_regions()[region.region_code]
    assert codes.pdus == {p.pdu_code for p in region.pdus}
    assert codes.offices == {o.office_code for o in region.offices}


def test_every_coded_field_is_a_field_of_some_inbound_payload_and_every_code_field_is_checked():
    fields = {name for spec in INBOUND.values() for name in spec.model.model_fields}
    assert set(CODED_FIELDS) <= fields
    coded = {name for name in fields if name.endswith(("region_code", "pdu_code", "office_code", "programme_code",
                                                        "_pdu", "offices", "programmes"))}
    assert coded == set(CODED_FIELDS)


def test_an_unknown_code_is_a_domain_error_carrying_field_value_and_known_set():
    payload = i.CohortPlanned.model_validate({**golden("cohort.planned")["payload"], "programme_code": "NOPE"})
    catalogue = load_catalogue()
    with pytest.raises(UnknownCode) as info:
        check_codes(payload, catalogue)
    error = info.value
    assert isinstance(error, DomainError)
    assert (error.field, error.value) == ("programme_code", "NOPE")
    assert error.scope == f"programme catalogue {catalogue.version}"
    assert error.known == tuple(sorted(catalogue.codes))


def test_the_golden_events_name_known_codes():
    for event_type, spec in INBOUND.items():
        check_codes(spec.model.model_validate(golden(event_type)["payload"]), load_catalogue())


def test_every_inbound_event_type_still_has_its_handler_behind_the_check():
    assert set(HANDLERS) == set(INBOUND)
    assert HANDLERS["cohort.planned"].__wrapped__.__name__ == "cohort_planned"
