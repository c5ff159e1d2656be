"""What-if planning: re-plan a copy of a region's state with changed capacity or demand, and compare.

The region is read once, inside a unit of work that is rolled back (nothing is written, nothing reaches
the outbox), into the allocator's plain-data :class:`~solver.schema.Problem`. A :class:`Scenario` is then
applied to a copy of that problem with :func:`dataclasses.replace` (facilitators added or removed per
PDU, an evening track, a venue opened, demand scaled), the baseline and the scenario are solved by the
same allocator with the same parameters, and :func:`measure` reports both the same way.

:func:`sweep_fte` searches for the fewest added facilitators (1 step = 1 facilitator = 1 FTE at the
PDU's typical weekly hours) that bring deadline misses under a target share. It assumes misses never
grow as facilitators are added (more staff only adds options), so it gallops (0, 1, 2, 4, 8, ...) to
the first step that meets the target and bisects below it: it never solves a step it does not need.

Entry points for callers holding an :class:`~engine.bootstrap.Engine` (CLI, HTTP API):
:func:`run_whatif` and :func:`run_sweep`; the pure parts (:func:`apply_scenario`, :func:`measure`,
:func:`compare`, :func:`sweep_fte`) take a :class:`Base` and an allocator.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from statistics import median
from typing import TYPE_CHECKING, Any

from engine.domain.model import CohortStatus, Office
from engine.handlers.context import EngineRules
from engine.ports import UnitOfWork
from engine.services.candidates import Grid, grid_cohorts
from engine.services.capacity import FTE_WEEKLY_HOURS
from engine.services.problem import build_problem, cohort_option
from solver import schema as s
from solver.evaluate import plan_metrics
from solver.rules import compatible, deferrable, group_key, last_ends

if TYPE_CHECKING:
    from engine.bootstrap import Engine

__all__ = [
    "Base", "Comparison", "Outcome", "Scenario", "SolveProgress", "Sweep", "SweepStep", "WhatIfError",
    "apply_scenario", "committed_hours", "compare", "demand_by_pdu", "measure", "parse_counts", "parse_venues",
    "read_base", "resolve_region", "run_sweep", "run_whatif", "split_fte", "sweep_fte", "typical_facilitator",
    "without_option",
]

SYNTHETIC = "WHATIF"
SLOT_CHOICES = ("any", "team")
EVENING_OFFER_RATIO = 1e9  # the extra evening track starts every grid step at every venue (no widening)

# progress(label, done): called before (done=False) and after (done=True) every solve
SolveProgress = Callable[[str, bool], None]


class WhatIfError(ValueError):
    """A scenario value that does not fit the region: the message names it and the valid choices."""


# ---- inputs -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """Changes to a region's capacity and demand; the empty scenario is the baseline."""

    add_facilitators: Mapping[str, int] = field(default_factory=dict)      # PDU → facilitators added
    remove_facilitators: Mapping[str, int] = field(default_factory=dict)   # PDU → facilitators removed
    programmes: frozenset[str] | None = None   # added facilitators trained on these (default: the PDU's)
    evening_track: bool = False
    open_venues: Mapping[str, int] = field(default_factory=dict)           # office → group rooms
    demand_factor: float = 1.0
    new_facilitator_slots: str = "any"  # added facilitators work any slot, or "team": the slots their PDU's team covers

    @property
    def empty(self) -> bool:
        return not (self.add_facilitators or self.remove_facilitators or self.evening_track
                    or self.open_venues or self.demand_factor != 1.0)

    def describe(self) -> str:
        parts = [f"+{n} facilitator{'s' * (n != 1)} in {p}" for p, n in sorted(self.add_facilitators.items())]
        parts += [f"-{n} facilitator{'s' * (n != 1)} in {p}" for p, n in sorted(self.remove_facilitators.items())]
        parts += ["evening track"] if self.evening_track else []
        parts += [f"open {o} ({n} room{'s' * (n != 1)})" for o, n in sorted(self.open_venues.items())]
        parts += [f"demand x{self.demand_factor:g}"] if self.demand_factor != 1.0 else []
        return ", ".join(parts) or "no change"


@dataclass(frozen=True)
class Base:
    """A region's state as the planner sees it, read once (nothing written) and never changed."""

    problem: s.Problem
    grid_ids: frozenset[str]          # candidates that came from the grid (recomputed by a scenario)
    stored_ids: frozenset[str]        # cohorts the database holds: the grid never re-proposes them
    home_pdu: Mapping[str, str]       # facilitator id → home PDU
    offices: tuple[Office, ...]       # the region's offices (those with group rooms are the grid's venues)
    rules: EngineRules
    grid: Grid | None

    @property
    def pdus(self) -> tuple[str, ...]:
        return tuple(sorted({o.pdu_code for o in self.offices} | set(self.home_pdu.values())))


def read_base(uow_factory: Callable[[], UnitOfWork], region: str, as_of: date, rules: EngineRules,
              params: s.Params, grid: Grid | None) -> Base:
    """Build the region's problem as the planner would (cohorts moved along their calendars first),
    inside a unit of work that is rolled back: the database is left exactly as it was."""
    with uow_factory() as uow:
        for cohort in uow.cohorts.where(region_code=region, status=[CohortStatus.CONFIRMED, CohortStatus.STARTED]):
            cohort.advance(as_of)  # in memory only, as Planner does before it plans; rolled back below
        snapshot = build_problem(uow, region, as_of, rules, params, grid)
        home = {f.facilitator_id: f.home_pdu for f in uow.facilitators.where(region_code=region)}
        offices = tuple(uow.offices(region))
        uow.rollback()
    return Base(snapshot.problem, snapshot.grid, frozenset(set(snapshot.cohorts) - snapshot.grid), home,
                offices, rules, grid)


# ---- scenario → problem -------------------------------------------------------------------------------

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
    if scenario.open_venues or scenario.demand_factor != 1.0 or scenario.evening_track:
        problem, extra = _regrid(base, problem, offices, scenario.evening_track)
        notes += extra
    if scenario.remove_facilitators:
        problem, extra = _remove_facilitators(base, problem, scenario.remove_facilitators)
        notes += extra
    if scenario.add_facilitators:
        problem, extra = _add_facilitators(base, problem, offices, scenario.add_facilitators, scenario.programmes,
                                           scenario.new_facilitator_slots)
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
    fresh = [c for c in grid_cohorts(region, as_of, horizon, problem.demands, offices, rules.catalogue,
                                     rules.is_holiday, grid) if c.cohort_id not in taken] if grid else []
    options = kept + [cohort_option(c, (), rules, as_of) for c in fresh]
    notes = []
    if evening:
        dense = replace(grid or Grid(), offer_ratio=EVENING_OFFER_RATIO)
        offered = {_evening_cell(c) for c in options if c.slots and c.slots[0].period == s.Period.EVENING}
        ids = {c.cohort_id for c in options} | taken
        extra = [c for c in grid_cohorts(region, as_of, horizon, problem.demands, offices, rules.catalogue,
                                         rules.is_holiday, dense)
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


def _pinned_cohorts(problem: s.Problem) -> set[str]:
    """Running cohorts whose places and staff are fixed: started, or starting within the freeze window."""
    freeze = problem.as_of + timedelta(days=problem.params.freeze_days)
    return {c.cohort_id for c in problem.cohorts
            if c.state == s.CohortState.OPEN and (c.start_date <= freeze or c.members)}


def committed_hours(problem: s.Problem) -> dict[str, float]:
    """Facilitator id → hours already committed to running (OPEN) cohorts from the plan date on."""
    monday = problem.as_of - timedelta(days=problem.as_of.weekday())
    out: dict[str, float] = {f.facilitator_id: 0.0 for f in problem.facilitators}
    for c in problem.cohorts:
        if c.state == s.CohortState.OPEN:
            weeks = sum(1 for w in c.load_weeks if w >= monday)
            for fid in c.facilitator_ids:
                out[fid] = out.get(fid, 0.0) + c.facilitator_weekly_hours * weeks
    return out


def _remove_facilitators(base: Base, problem: s.Problem, counts: Mapping[str, int]) -> tuple[s.Problem, list[str]]:
    """Per PDU, the N facilitators with the fewest committed hours take no new group: first those who run
    no started or frozen cohort. When a PDU has too few of those, the next ones (fewest committed hours)
    are taken too, and the note says so. Cohorts already running or confirmed keep their staff (a
    leaver finishes them): removing staff only ever takes options away from the plan."""
    pinned = _pinned_cohorts(problem)
    locked = {fid for c in problem.cohorts if c.cohort_id in pinned for fid in c.facilitator_ids}
    hours, notes, gone = committed_hours(problem), [], set()
    for pdu, n in sorted(counts.items()):
        team = sorted((f for f in problem.facilitators if base.home_pdu.get(f.facilitator_id) == pdu),
                      key=lambda f: (f.facilitator_id in locked, hours.get(f.facilitator_id, 0.0), f.weekly_hours,
                                     f.facilitator_id))
        chosen = [f.facilitator_id for f in team[:n]]
        gone |= set(chosen)
        line = (f"removed {len(chosen)} facilitator{'s' * (len(chosen) != 1)} from {pdu} (no new group for them): "
                f"{', '.join(f'{f} ({hours.get(f, 0.0):g} h committed)' for f in chosen) or 'none'}")
        if len(chosen) < n:
            line += f" (asked for {n}: {pdu} has only {len(team)} active)"
        kept_on = [f for f in chosen if f in locked]
        if kept_on:
            line += (f"; {pdu} has too few facilitators without started or frozen cohorts, so "
                     f"{', '.join(kept_on)} {'is' if len(kept_on) == 1 else 'are'} removed too, finishing "
                     f"the cohorts they run (their hours there stay committed)")
        notes.append(line)
    return replace(problem, facilitators=tuple(f for f in problem.facilitators if f.facilitator_id not in gone)), notes


def typical_facilitator(base: Base, problem: s.Problem, offices: Sequence[Office], pdu: str,
                        programmes: frozenset[str] | None, slots: str = "any") -> tuple[s.Facilitator, str]:
    """A new facilitator as the PDU's team typically is: trained on every programme the team delivers
    (or ``programmes``), the team's median weekly hours, based at the PDU's hub(s) (its offices with
    group rooms), and working any slot (recruited for the evening groups too) or, with ``slots="team"``,
    the slots the team covers between them. A PDU without facilitators takes the region's team as its
    model; a PDU without a venue, the venues its team reaches (else every venue)."""
    team = [f for f in problem.facilitators if base.home_pdu.get(f.facilitator_id) == pdu]
    source = f"{pdu}'s team"
    if not team:
        team, source = list(problem.facilitators), "the region's team"
    if programmes:
        trained = frozenset(programmes)
    elif team:
        trained = frozenset().union(*(f.programmes for f in team))
    else:
        trained = frozenset(base.rules.catalogue.codes)
    hours = round(median(f.weekly_hours for f in team), 2) if team else FTE_WEEKLY_HOURS  # no team: full time
    if slots == "any" or not team or any(not f.availability for f in team):
        availability: frozenset = frozenset()
    else:
        availability = frozenset().union(*(f.availability for f in team))
    hubs = frozenset(o.office_code for o in offices if o.pdu_code == pdu and o.rooms > 0)
    if not hubs and team:
        hubs = frozenset().union(*(f.offices for f in team))
    hubs = hubs or frozenset(o.office_code for o in offices if o.rooms > 0)
    why = (f"trained on {', '.join(sorted(trained))}; {hours:g} h/week (median of {source}); "
           f"slots: {_slots(availability)}; offices {', '.join(sorted(hubs))}")
    return s.Facilitator("", trained, hubs, hours, availability), why


def _slots(availability: frozenset[tuple[int, s.Period]]) -> str:
    if not availability:
        return "any (daytime and evening)"
    periods = sorted({p.value.lower() for _, p in availability})
    return f"{len({d for d, _ in availability})} weekdays, {' and '.join(periods)}"


def _add_facilitators(base: Base, problem: s.Problem, offices: Sequence[Office], counts: Mapping[str, int],
                      programmes: frozenset[str] | None, slots: str) -> tuple[s.Problem, list[str]]:
    added, notes, number = [], [], 0
    for pdu, n in sorted(counts.items()):
        if n <= 0:
            continue
        template, why = typical_facilitator(base, problem, offices, pdu, programmes, slots)
        ids = []
        for _ in range(n):
            number += 1
            ids.append(f"{SYNTHETIC}-F{number}")
            added.append(replace(template, facilitator_id=ids[-1]))
        notes.append(f"added {', '.join(ids)} in {pdu}: {why}")
    return replace(problem, facilitators=problem.facilitators + tuple(added)), notes


# ---- measure and compare ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """How a plan does, measured the same way for the baseline and every scenario."""

    demands: int               # people in the plan (waiting for a start)
    within_reach: int          # of whom must start within the plan's reach (could not wait for a later plan)
    misses: int                # of those, unplaced: they will miss their deadline
    miss_pct: float            # misses / within_reach, in percent
    no_option: int             # of those, no cohort in the plan could take them in time (whatever the staff)
    median_wait_weeks: float   # referral to cohort start (unplaced: to the horizon's end)
    p92_wait_weeks: float
    cohorts_opened: int
    facilitator_hours: float   # in the cohorts the plan opens, over their run
    placed: int
    status: str
    solve_seconds: float
    note: str = ""


def measure(problem: s.Problem, plan: s.Plan, seconds: float | None = None,
            reach: Mapping[tuple, date] | None = None) -> Outcome:
    """The plan's outcome. A miss is a person who must start within the plan's reach (their latest end is
    not after the last cohort end of their programme group, so no later plan can help) and has no place.
    ``reach``: those last ends (default: this problem's); a comparison passes the baseline's, so that the
    same people count as within reach in every column, whatever cohorts a scenario adds."""
    metrics = plan_metrics(problem, plan)
    ends = reach if reach is not None else last_ends(problem.cohorts)
    placed = {a.referral_id for a in plan.assignments}
    within = [d for d in problem.demands if not deferrable(d, ends, problem.params)]
    misses = sum(1 for d in within if d.referral_id not in placed)
    return Outcome(len(problem.demands), len(within), misses,
                   round(100 * misses / len(within), 2) if within else 0.0, len(without_option(problem, within)),
                   metrics["median_wait_weeks"], metrics["p92_wait_weeks"], len(plan.opened),
                   metrics["facilitator_hours"], len(plan.assignments), plan.status,
                   round(plan.solve_seconds if seconds is None else seconds, 2), plan.note)


def without_option(problem: s.Problem, demands: Iterable[s.Demand]) -> list[s.Demand]:
    """People no cohort of the problem (running, planned or candidate) could take in time: no staffing
    change can place them, only new cohorts (an evening track, a venue) or an earlier start could."""
    by_group: dict[tuple, list[s.CohortOption]] = {}
    for c in problem.cohorts:
        by_group.setdefault(group_key(c), []).append(c)
    return [d for d in demands if all(compatible(d, c, problem.params, problem.as_of) is not None
                                      for c in by_group.get(group_key(d), ()))]


DIFFERENCES = ("demands", "within_reach", "misses", "miss_pct", "no_option", "median_wait_weeks", "p92_wait_weeks",
               "cohorts_opened", "facilitator_hours", "placed")


@dataclass(frozen=True)
class Comparison:
    region_code: str
    as_of: date
    allocator: str
    time_limit_s: float
    scenario: Scenario
    changes: tuple[str, ...]
    baseline: Outcome
    outcome: Outcome

    @property
    def difference(self) -> dict[str, float]:
        return {k: round(getattr(self.outcome, k) - getattr(self.baseline, k), 2) for k in DIFFERENCES}

    def to_dict(self) -> dict[str, Any]:
        scenario = asdict(self.scenario)
        scenario["programmes"] = sorted(self.scenario.programmes) if self.scenario.programmes else None
        return {"region": self.region_code, "as_of": self.as_of.isoformat(), "allocator": self.allocator,
                "time_limit_s": self.time_limit_s, "scenario": scenario, "changes": list(self.changes),
                "baseline": asdict(self.baseline), "scenario_outcome": asdict(self.outcome),
                "difference": self.difference}


def _solve(allocator: s.Allocator, problem: s.Problem, label: str, progress: SolveProgress | None,
           reach: Mapping[tuple, date]) -> Outcome:
    if progress:
        progress(label, False)
    began = time.perf_counter()
    plan = allocator.allocate(problem)
    outcome = measure(problem, plan, time.perf_counter() - began, reach)
    if progress:
        progress(label, True)
    return outcome


def compare(base: Base, scenario: Scenario, allocator: s.Allocator, progress: SolveProgress | None = None,
            baseline: Outcome | None = None) -> Comparison:
    """Solve the unchanged state and the scenario with the same allocator and parameters."""
    problem, changes = apply_scenario(base, scenario)
    reach = last_ends(base.problem.cohorts)
    before = baseline or _solve(allocator, base.problem, "baseline", progress, reach)
    after = before if scenario.empty else _solve(allocator, problem, f"scenario: {scenario.describe()}", progress,
                                                 reach)
    p = base.problem
    return Comparison(p.region_code, p.as_of, allocator.name, p.params.time_limit_s, scenario, tuple(changes),
                      before, after)


# ---- the FTE sweep ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepStep:
    fte: int
    split: Mapping[str, int]   # PDU → facilitators added at this step
    outcome: Outcome


@dataclass(frozen=True)
class Sweep:
    region_code: str
    as_of: date
    allocator: str
    time_limit_s: float
    target_miss_pct: float
    pdus: tuple[str, ...]
    max_fte: int
    steps: tuple[SweepStep, ...]   # in the order solved
    answer: int | None             # fewest FTE meeting the target; None: not within max_fte
    assumptions: tuple[str, ...]
    floor_pct: float = 0.0         # misses no staffing can remove (no cohort could take them in time), in %
    warnings: tuple[str, ...] = ()  # e.g. steps where more staff gave more misses (the monotone assumption broke)

    @property
    def answer_step(self) -> SweepStep | None:
        return next((x for x in self.steps if x.fte == self.answer), None)

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region_code, "as_of": self.as_of.isoformat(), "allocator": self.allocator,
                "time_limit_s": self.time_limit_s, "target_miss_pct": self.target_miss_pct,
                "pdus": list(self.pdus), "max_fte": self.max_fte, "answer_fte": self.answer,
                "floor_miss_pct": self.floor_pct, "warnings": list(self.warnings),
                "reached": self.answer is not None, "assumptions": list(self.assumptions),
                "steps": [{"fte": x.fte, "split": dict(x.split), **asdict(x.outcome)} for x in self.steps]}


def demand_by_pdu(problem: s.Problem) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in problem.demands:
        out[d.pdu_code] = out.get(d.pdu_code, 0) + 1
    return out


def split_fte(fte: int, weights: Mapping[str, float]) -> dict[str, int]:
    """``fte`` facilitators over PDUs in proportion to ``weights`` (Sainte-Laguë, one at a time), so the
    split for n + 1 is the split for n plus one: adding FTE never moves a facilitator between PDUs."""
    pdus = sorted(weights)
    if not pdus:
        return {}
    w = {p: weights[p] for p in pdus} if any(weights[p] > 0 for p in pdus) else {p: 1.0 for p in pdus}
    out = {p: 0 for p in pdus}
    for _ in range(fte):
        best = max(pdus, key=lambda p: (w[p] / (2 * out[p] + 1), -pdus.index(p)))
        out[best] += 1
    return {p: n for p, n in out.items() if n}


def sweep_fte(base: Base, allocator: s.Allocator, target_miss_pct: float, pdus: Sequence[str] = (),
              max_fte: int = 10, scenario: Scenario | None = None,
              progress: SolveProgress | None = None) -> Sweep:
    """The fewest added FTE (on top of ``scenario``) with misses under ``target_miss_pct`` percent.

    Gallops 0, 1, 2, 4, ... (capped at ``max_fte``) to the first step that meets the target, then bisects
    between it and the last step that did not; every step is solved at most once. Assumes misses do not
    grow with added facilitators.
    """
    scenario = scenario or Scenario()
    if not 0 <= target_miss_pct <= 100:
        raise WhatIfError(f"--target-miss-pct {target_miss_pct:g} must be between 0 and 100")
    if max_fte < 1:
        raise WhatIfError(f"--max-fte {max_fte} must be at least 1")
    valid = base.pdus
    for pdu in pdus:
        if pdu not in valid:
            raise WhatIfError(f"--pdu: unknown PDU {pdu!r} in region {base.problem.region_code}; "
                              f"valid PDUs: {', '.join(valid)}")
    scenario_problem, _ = apply_scenario(base, scenario)
    demand = demand_by_pdu(scenario_problem)
    targets = tuple(dict.fromkeys(pdus)) or tuple(p for p in valid if demand.get(p))
    weights = {p: float(demand.get(p, 0)) for p in targets}
    solved: dict[int, SweepStep] = {}
    reach = last_ends(base.problem.cohorts)

    def step(fte: int) -> SweepStep:
        if fte not in solved:
            split = split_fte(fte, weights)
            added = dict(scenario.add_facilitators)
            for p, n in split.items():
                added[p] = added.get(p, 0) + n
            problem, _ = apply_scenario(base, replace(scenario, add_facilitators=added))
            solved[fte] = SweepStep(fte, split, _solve(allocator, problem, f"+{fte} FTE", progress, reach))
        return solved[fte]

    def meets(fte: int) -> bool:
        return step(fte).outcome.miss_pct < target_miss_pct

    answer: int | None = None
    first = step(0).outcome
    floor = round(100 * first.no_option / first.within_reach, 2) if first.within_reach else 0.0
    if meets(0):
        answer = 0
    elif floor >= target_miss_pct:
        pass  # added staff opens no new cohort: the people without any in-time option stay misses
    else:
        low, k = 0, 1
        while True:
            k = min(k, max_fte)
            if meets(k):
                high = k
                break
            low = k
            if k == max_fte:
                high = None
                break
            k *= 2
        if high is not None:
            while high - low > 1:
                mid = (low + high) // 2
                if meets(mid):
                    high = mid
                else:
                    low = mid
            answer = high
    shares = ", ".join(f"{p} {int(weights[p])}" for p in targets)
    assumptions = (
        "1 step = 1 added facilitator = 1 FTE at the PDU's typical (median) weekly hours, trained and based "
        "like the PDU's team (see the what-if notes)",
        (f"added over {', '.join(targets)} " if pdus else "added region-wide over the PDUs with waiting people ")
        + f"in proportion to the people waiting in each ({shares}), one at a time (Sainte-Laguë), so each "
          "step keeps the previous step's facilitators",
        "misses never grow as facilitators are added, so the search gallops (0, 1, 2, 4, ...) to the first "
        "step under the target and bisects below it; steps not listed were not solved",
        f"a step meets the target when misses are under {target_miss_pct:g}% of the people who must start "
        "within the plan's reach; every step is solved with the same allocator and time limit"
        + (f"; on top of: {scenario.describe()}" if not scenario.empty else ""),
        f"floor: {first.no_option} of {first.within_reach} people within reach ({floor:g}%) have no cohort in the "
        "plan (running, planned or candidate) that could take them in time; added facilitators change no "
        "cohort, so misses never fall below that"
        + (": the target is unreachable by staffing alone, so no step beyond +0 was solved"
           if answer is None and floor >= target_miss_pct else ""),
    )
    ordered = sorted(solved.values(), key=lambda x: x.fte)
    warnings = tuple(
        f"+{later.fte} FTE gave more misses ({later.outcome.misses}) than +{earlier.fte} FTE "
        f"({earlier.outcome.misses}): the search assumes they never grow (a solver stopped by its time limit can "
        "break that; a longer --time-limit makes it rarer)"
        for earlier, later in zip(ordered, ordered[1:]) if later.outcome.misses > earlier.outcome.misses)
    p = base.problem
    return Sweep(p.region_code, p.as_of, allocator.name, p.params.time_limit_s, target_miss_pct, targets, max_fte,
                 tuple(solved.values()), answer, assumptions, floor, warnings)


# ---- engine entry points (CLI, HTTP API) -------------------------------------------------------------

def parse_counts(values: Iterable[str], option: str) -> dict[str, int]:
    """``["RS-P01=2", ...]`` → ``{"RS-P01": 2}``; a malformed value is named with the expected form."""
    out: dict[str, int] = {}
    for raw in values:
        key, sep, number = raw.partition("=")
        key = key.strip()
        try:
            n = int(number)
        except ValueError:
            n = -1
        if not sep or not key or n < 1:
            raise WhatIfError(f"{option} {raw!r} is not PDU=N with N a whole number of at least 1 "
                              f"(e.g. {option} RS-P01=2)")
        out[key] = out.get(key, 0) + n
    return out


def parse_venues(values: Iterable[str]) -> dict[str, int]:
    """``["RS-P02-O1", "RS-P04-O1=2"]`` → office → rooms (1 when not given)."""
    out: dict[str, int] = {}
    for raw in values:
        key, sep, number = raw.partition("=")
        try:
            n = int(number) if sep else 1
        except ValueError:
            n = 0
        if not key.strip() or n < 1:
            raise WhatIfError(f"--open-venue {raw!r} is not OFFICE or OFFICE=ROOMS with ROOMS a whole number "
                              f"of at least 1 (e.g. --open-venue RS-P02-O1=1)")
        out[key.strip()] = n
    return out


def resolve_region(engine: Engine, region: str | None) -> str:
    """The given region if the database knows it; else the only region it knows."""
    known = engine.planner("fifo").known_regions()
    if region is not None:
        if known and region not in known:
            raise WhatIfError(f"--region: unknown region {region!r}; valid regions: {', '.join(known)}")
        return region
    if len(known) != 1:
        raise WhatIfError("--region is needed: " + (f"the database holds {', '.join(known)}" if known
                                                     else "the database holds no region yet (replay events first)"))
    return known[0]


def _engine_base(engine: Engine, region: str | None, as_of: date | None, time_limit_s: float | None,
                 allocator: str) -> tuple[Base, s.Allocator]:
    from engine.bootstrap import make_allocator
    region = resolve_region(engine, region)
    day = as_of or engine.planner("fifo").last_planned(region) or date.today()
    params = engine.params(**({"time_limit_s": time_limit_s} if time_limit_s else {}))
    try:
        chosen = make_allocator(allocator, engine.settings)
    except ValueError as exc:
        raise WhatIfError(str(exc)) from None
    return read_base(engine.database.uow, region, day, engine.rules, params, engine.grid()), chosen


def run_whatif(engine: Engine, scenario: Scenario, region: str | None = None, as_of: date | None = None,
               allocator: str = "cpsat", time_limit_s: float | None = 5.0,
               progress: SolveProgress | None = None) -> Comparison:
    """Baseline vs scenario for a region (default: the only one) as of a date (default: its last plan).
    Reads the database once and writes nothing."""
    base, chosen = _engine_base(engine, region, as_of, time_limit_s, allocator)
    return compare(base, scenario, chosen, progress)


def run_sweep(engine: Engine, target_miss_pct: float, pdus: Sequence[str] = (), max_fte: int = 10,
              scenario: Scenario | None = None, region: str | None = None, as_of: date | None = None,
              allocator: str = "cpsat", time_limit_s: float | None = 5.0,
              progress: SolveProgress | None = None) -> Sweep:
    base, chosen = _engine_base(engine, region, as_of, time_limit_s, allocator)
    return sweep_fte(base, chosen, target_miss_pct, pdus, max_fte, scenario, progress)

