"""Applying a scenario: the base problem with venues opened, demand scaled, candidates recomputed and
facilitators removed or added, each change noted in one line.

The base is never changed: every step returns a copy made with :func:`dataclasses.replace`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

from engine.domain.model import Office
from engine.services.candidates import Grid, grid_cohorts, grid_offer
from engine.services.problem import cohort_option, grid_options
from engine.services.whatif.base import Base
from engine.services.whatif.scenario import SLOT_CHOICES, SYNTHETIC, Scenario, WhatIfError
from engine.services.whatif.staff import add_facilitators, remove_facilitators
from solver import schema as s

EVENING_OFFER_RATIO = 1e9  # the extra evening track starts every grid step at every venue (no widening)


def apply_scenario(base: Base, scenario: Scenario) -> tuple[s.Problem, list[str]]:
    """The base problem with the scenario applied, and what was done (one line per change)."""
    _validate(base, scenario)
    problem, notes = base.problem, []
    offices = list(base.offices)
    if scenario.open_venues:
        offices, extra = _open_venues(base, offices, scenario.open_venues)
        pdu_of = {o.office_code: o.pdu_code for o in offices}
        reach = {pdu: {o for o in scenario.open_venues if pdu_of[o] == pdu} for pdu in set(base.home_pdu.values())}
        problem = replace(problem, offices=tuple(s.Office(o.office_code, o.pdu_code, o.rooms) for o in offices),
                          facilitators=tuple(replace(f, offices=f.offices | reach.get(
                              base.home_pdu.get(f.facilitator_id, ""), set())) for f in problem.facilitators))
        notes += extra
    if scenario.demand_factor != 1.0:
        demands, line = _scale_demand(problem.demands, scenario.demand_factor)
        problem = replace(problem, demands=demands)
        notes.append(line)
    if scenario.remove_facilitators:
        problem, extra = remove_facilitators(base, problem, scenario.remove_facilitators)
        notes += extra
    if scenario.add_facilitators:
        problem, extra = add_facilitators(base, problem, offices, scenario.add_facilitators, scenario.programmes,
                                          scenario.new_facilitator_slots)
        notes += extra
    # a staffed grid offers tracks where trained staff work: there a change of staff regrids as one of venues does
    staffed = bool(base.grid and base.grid.staffed)
    staff_changed = staffed and bool(scenario.remove_facilitators or scenario.add_facilitators)
    if scenario.open_venues or scenario.demand_factor != 1.0 or scenario.evening_track or staff_changed:
        problem, extra = _regrid(base, problem, offices, scenario.evening_track)
        notes += extra
    return problem, notes


def _validate(base: Base, scenario: Scenario) -> None:
    pdus = base.pdus
    for option, counts in (("--add-facilitators", scenario.add_facilitators),
                           ("--remove-facilitators", scenario.remove_facilitators)):
        for pdu, n in counts.items():
            if pdu not in pdus:
                raise WhatIfError(f"{option}: unknown PDU {pdu!r} in region {base.problem.region_code}; "
                                  f"valid PDUs: {', '.join(pdus)}")
            if n < 0:
                raise WhatIfError(f"{option}: {pdu}={n} must not be negative")
    codes = {o.office_code for o in base.offices}
    for office, rooms in scenario.open_venues.items():
        if office not in codes:
            raise WhatIfError(f"--open-venue: unknown office {office!r} in region {base.problem.region_code}; "
                              f"valid offices: {', '.join(sorted(codes))}")
        if rooms < 1:
            raise WhatIfError(f"--open-venue: {office}={rooms} needs at least 1 room")
    unknown = sorted(set(scenario.programmes or ()) - set(base.rules.catalogue.codes))
    if unknown:
        raise WhatIfError(f"--programme: unknown programme {', '.join(map(repr, unknown))}; "
                          f"valid programmes: {', '.join(base.rules.catalogue.codes)}")
    if scenario.new_facilitator_slots not in SLOT_CHOICES:
        raise WhatIfError(f"--new-facilitator-slots: unknown choice {scenario.new_facilitator_slots!r}; "
                          f"valid choices: {', '.join(SLOT_CHOICES)}")
    if not 0 < scenario.demand_factor <= 10:
        raise WhatIfError(f"--demand-factor {scenario.demand_factor:g} must be above 0 and at most 10 "
                          f"(1.2 = 20% more waiting demand, 0.8 = 20% less)")


def _open_venues(base: Base, offices: list[Office], rooms: Mapping[str, int]) -> tuple[list[Office], list[str]]:
    """Offices get group rooms; the facilitators of the office's PDU can work there."""
    notes, out = [], []
    for office in offices:
        wanted = rooms.get(office.office_code)
        if wanted is None:
            out.append(office)
            continue
        out.append(replace(office, rooms=wanted))
        team = sorted(f for f, pdu in base.home_pdu.items() if pdu == office.pdu_code)
        staff = (f"{office.pdu_code}'s facilitators ({', '.join(team)}) can work there" if team
                 else f"no facilitator is based in {office.pdu_code}: combine with --add-facilitators "
                      f"{office.pdu_code}=N for anyone to run groups there")
        notes.append(f"opened {office.office_code} with {wanted} group room{'s' * (wanted != 1)} "
                     f"(had {office.rooms}); {staff}")
    return out, notes


def _scale_demand(demands: tuple[s.Demand, ...], factor: float) -> tuple[tuple[s.Demand, ...], str]:
    """Exactly round(n x factor) demands: a deterministic sample (by hash of the referral id) is dropped,
    or duplicated as new referrals of new people (synthetic ids, no place held yet)."""
    n, target = len(demands), round(len(demands) * factor)
    order = sorted(demands, key=lambda d: hashlib.sha256(d.referral_id.encode()).hexdigest())
    if target <= n:
        dropped = {d.referral_id for d in order[:n - target]}
        kept = tuple(d for d in demands if d.referral_id not in dropped)
        return kept, f"demand x{factor:g}: dropped {len(dropped)} of {n} waiting referrals (deterministic sample)"
    copies = []
    for i in range(target - n):
        d, k = order[i % n], i // n + 1
        copies.append(replace(d, referral_id=f"{SYNTHETIC}-{d.referral_id}-{k}", crn=f"{SYNTHETIC}-{d.crn}-{k}",
                              current_cohort_id=None))
    return (tuple(sorted(demands + tuple(copies), key=lambda d: d.referral_id)),
            f"demand x{factor:g}: duplicated {len(copies)} of {n} waiting referrals as new people "
            f"({SYNTHETIC}-<referral>-<k>, deterministic sample)")


def _regrid(base: Base, problem: s.Problem, offices: list[Office], evening: bool) -> tuple[s.Problem, list[str]]:
    """Candidates recomputed from the scenario's demand and venues as the planner would, plus (evening
    track) evening candidates wherever the grid offers no evening start that week at that venue."""
    rules, region, as_of = base.rules, problem.region_code, problem.as_of
    horizon = problem.params.horizon_weeks
    kept = [c for c in problem.cohorts if c.cohort_id not in base.grid_ids]
    taken = set(base.stored_ids) | {c.cohort_id for c in kept}
    grid = base.grid
    offered, beyond = grid_offer(region, as_of, horizon, problem.demands, offices, rules.catalogue, rules.is_holiday,
                                 grid, problem.facilitators) if grid else ([], frozenset())
    options = kept + grid_options([c for c in offered if c.cohort_id not in taken], beyond, rules, as_of)
    notes = []
    if evening:
        dense = replace(grid or Grid(), offer_ratio=EVENING_OFFER_RATIO)
        offered = {_evening_cell(c) for c in options if c.slots and c.slots[0].period == s.Period.EVENING}
        ids = {c.cohort_id for c in options} | taken
        extra = [c for c in grid_cohorts(region, as_of, horizon, problem.demands, offices, rules.catalogue,
                                         rules.is_holiday, dense, problem.facilitators)
                 if c.slots[0].period == "EVENING" and c.cohort_id not in ids]
        added = []
        for cohort in extra:
            option = cohort_option(cohort, (), rules, as_of)
            if _evening_cell(option) not in offered:
                offered.add(_evening_cell(option))
                added.append(option)
        options += added
        notes.append(f"evening track: {len(added)} evening candidate cohorts added (a start every "
                     f"{dense.step_weeks} weeks at {dense.evening_start} at every venue whose waiting list could "
                     f"fill an evening group, where the grid offered no evening start that week)")
    return replace(problem, cohorts=tuple(options)), notes


def _evening_cell(c: s.CohortOption) -> tuple:
    week = c.start_date - timedelta(days=c.start_date.weekday())
    return (c.programme_code, c.pathway, c.offence_cohort, c.ldc, c.sex, c.office_code, week)

