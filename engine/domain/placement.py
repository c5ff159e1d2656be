"""The rules a held place must keep, whoever made it and whenever the facts changed.

A place is one referral on one cohort. The solver checks these rules when it proposes a place; this
module checks them again on the state as it is now, after any correction (a person's sex, their
non-associations or availability, an earlier order end, a re-assessment, a rescheduled cohort, a
transfer to another region). Pure: plain entities in, the broken rules out.

What happens to a place that breaks a rule is decided here too (:func:`remedy`): a place the plan
made and that has not started is removed at once, inside the freeze window as well, because a safety
rule beats plan stability; a running programme is kept and flagged for the treatment manager. A place
the delivery team made is theirs: before the cohort starts it is decided again from their confirmation
(:mod:`engine.handlers.confirmations`, which releases it with an alert while it breaks a rule), and
anything left is flagged, never silently undone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Iterable

from engine.domain.model import Allocation, Cohort, CohortStatus, Person, Referral
from engine.domain.statuses import ReferralStatus

SEX_GROUPS = {"FEMALE": frozenset({"FEMALE", "MIXED"}), "MALE": frozenset({"MALE", "MIXED"})}
HOLDING = frozenset({ReferralStatus.SCHEDULED, ReferralStatus.ON_PROGRAMME})


class Rule(StrEnum):
    """Every rule a held place is checked against (the names alerts and explanations use)."""

    PROGRAMME = "programme"
    PATHWAY = "pathway"
    OFFENCE_COHORT = "offence-cohort"
    LDC = "ldc"
    SEX = "sex"
    NON_ASSOCIATION = "non-association"
    AVAILABILITY = "availability"
    OFFICE = "office"
    REGION = "region"
    DEADLINE = "deadline"


# What the treatment manager is asked to do when a kept place breaks the rule.
ACTION = {
    Rule.PROGRAMME: "move the person to a group of their programme",
    Rule.PATHWAY: "move the person to a group of their pathway or re-assess",
    Rule.OFFENCE_COHORT: "move the person to a group of their offence cohort",
    Rule.LDC: "move the person to a group of their LDC variant or re-assess",
    Rule.SEX: "move the person to a group they may join (a woman to a FEMALE or MIXED group, a man to MALE or MIXED)",
    Rule.NON_ASSOCIATION: "separate the two people: move one of them to another group",
    Rule.AVAILABILITY: "agree attendance with the person or move them to a group they can attend",
    Rule.OFFICE: "move the person to a group at an office they can attend",
    Rule.REGION: "hand the case over to the new region or confirm the transfer",
    Rule.DEADLINE: "agree an extension with the court or an alternative",
}


@dataclass(frozen=True)
class Breach:
    rule: Rule
    referral_id: str
    crn: str
    cohort_id: str
    detail: str


@dataclass(frozen=True)
class Member:
    """Another member of the same cohort, as far as the pair rule needs them."""

    referral_id: str
    crn: str
    non_associations: frozenset[str]


def sex_allowed(person_sex: str, cohort_sex: str) -> bool:
    """A woman only joins FEMALE or MIXED groups, a man only MALE or MIXED; anyone else only MIXED."""
    return cohort_sex in SEX_GROUPS.get(person_sex, frozenset({"MIXED"}))


def place_breaches(referral: Referral, person: Person | None, cohort: Cohort, latest_end: date | None,
                   others: Iterable[Member] = ()) -> list[Breach]:
    """Every rule the referral's place on ``cohort`` breaks now ([] when it is sound).

    ``latest_end`` is the deadline less the catch-up margin (None: no deadline known);
    ``others`` are the cohort's other members holding places.
    """
    found: list[tuple[Rule, str]] = []
    add = found.append
    if referral.programme_code != cohort.programme_code:
        add((Rule.PROGRAMME, f"referral is for {referral.programme_code}, cohort runs {cohort.programme_code}"))
    if referral.pathway != cohort.pathway:
        add((Rule.PATHWAY, f"pathway {referral.pathway}, cohort {cohort.pathway}"))
    if referral.offence_cohort != cohort.offence_cohort:
        add((Rule.OFFENCE_COHORT, f"offence cohort {referral.offence_cohort}, cohort {cohort.offence_cohort}"))
    if referral.ldc != cohort.ldc:
        add((Rule.LDC, f"LDC {'yes' if referral.ldc else 'no'}, cohort is {'' if cohort.ldc else 'not '}the LDC variant"))
    if latest_end is not None and cohort.end_date > latest_end:
        add((Rule.DEADLINE, f"cohort ends {cohort.end_date}, after the latest end {latest_end}"))
    if person is not None:
        found += _person_breaches(person, cohort, others)
    return [Breach(rule, referral.referral_id, referral.crn, cohort.cohort_id, detail) for rule, detail in found]


def _person_breaches(person: Person, cohort: Cohort, others: Iterable[Member]) -> list[tuple[Rule, str]]:
    found = []
    if not sex_allowed(person.sex, cohort.sex):
        found.append((Rule.SEX, f"person recorded as {person.sex}, cohort is {cohort.sex}"))
    for other in others:
        if other.crn != person.crn and (other.crn in person.non_associations or person.crn in other.non_associations):
            found.append((Rule.NON_ASSOCIATION, f"non-associated with {other.crn} (referral {other.referral_id})"))
    missing = [s for s in cohort.slots if person.availability and (s.weekday, s.period) not in person.availability]
    if missing:
        found.append((Rule.AVAILABILITY, "not available for " + ", ".join(
            f"weekday {s.weekday} {s.period.lower()}" for s in missing)))
    if cohort.office_code in person.cannot_attend_offices:
        found.append((Rule.OFFICE, f"cannot attend office {cohort.office_code}"))
    if person.region_code and cohort.region_code and person.region_code != cohort.region_code:
        found.append((Rule.REGION, f"person now in region {person.region_code}, cohort in {cohort.region_code}"))
    return found


class Remedy(StrEnum):
    REMOVE = "REMOVE"  # the plan's own place, not started: taken away at once
    FLAG = "FLAG"      # a place people made or a running programme: kept, the treatment manager decides


def remedy(referral: Referral, cohort: Cohort, allocation: Allocation | None) -> Remedy:
    """Who may undo the place: the engine its own proposals, people their own decisions."""
    by_people = allocation is not None and allocation.source != "PLAN"
    running = referral.status == ReferralStatus.ON_PROGRAMME or cohort.status in (
        CohortStatus.STARTED, CohortStatus.COMPLETED)
    return Remedy.FLAG if by_people or running else Remedy.REMOVE
