"""Plain data in and out of every allocator: no ORM objects, no ortools, no engine imports.

The engine builds a :class:`Problem` from its state; an :class:`Allocator` returns a :class:`Plan`.
The same data feeds the FIFO and current-practice baselines and (issue 3) the CP-SAT model, and
:mod:`solver.check` validates any plan against it without a solver.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Mapping, Protocol, Sequence


class Period(StrEnum):
    DAYTIME = "DAYTIME"
    EVENING = "EVENING"


class CohortState(StrEnum):
    """Whether a cohort already runs (its places exist) or is a candidate the plan may open."""

    OPEN = "OPEN"            # confirmed or started: members are fixed, free places can be filled
    CANDIDATE = "CANDIDATE"  # planned slot: runs only if the plan opens it with facilitators


class UnallocatedReason(StrEnum):
    """Why a waiting referral has no place, in the words a planner uses."""

    NO_COHORT_BEFORE_DEADLINE = "NO_COHORT_BEFORE_DEADLINE"  # nothing compatible finishes in time
    NO_COMPATIBLE_COHORT = "NO_COMPATIBLE_COHORT"            # no cohort matches programme/rules at all
    NOT_AVAILABLE = "NOT_AVAILABLE"                          # cohorts exist but not on their days/offices
    NO_PLACE = "NO_PLACE"                                    # compatible cohorts are full
    NO_FACILITATOR = "NO_FACILITATOR"                        # a group could open but nobody can run it
    TOO_FEW_WAITING = "TOO_FEW_WAITING"                      # not enough people to open a group yet
    NOT_READY = "NOT_READY"                                  # ready_from after every candidate start
    PENDING = "PENDING"                                      # arrived while the plan was solved: next plan
    OVERRIDE = "OVERRIDE"                                    # a planner's override holds them or rules places out


class OverrideKind(StrEnum):
    """What a planner decided (solver/overrides.py reads them; the API names them in lower case)."""

    KEEP = "keep"    # this referral on this cohort
    NEVER = "never"  # this referral never on this cohort
    HOLD = "hold"    # this referral out of planning until a date
    LOCK = "lock"    # nobody joins or leaves this cohort


@dataclass(frozen=True, order=True)
class Override:
    """A decision people made that every plan honours while it is safe (ids sort in the order they were made)."""

    override_id: str
    kind: OverrideKind
    referral_id: str | None = None   # keep, never, hold
    cohort_id: str | None = None     # keep, never, lock
    until: date | None = None        # hold: planned again from this day


@dataclass(frozen=True, order=True)
class Slot:
    """A weekly slot: weekday (0 = Monday) and start time, in a daytime or evening period."""

    weekday: int
    start: str  # "HH:MM"
    period: Period = Period.DAYTIME


@dataclass(frozen=True)
class Demand:
    """One referral waiting for (or holding an unpinned) place."""

    referral_id: str
    crn: str
    programme_code: str
    pathway: str            # HIGH | MODERATE
    offence_cohort: str     # GENERAL_OFFENCE | SEXUAL_OFFENCE
    ldc: bool
    sex: str                # MALE | FEMALE
    risk_band: str          # HIGH | MEDIUM | LOW
    referred_on: date       # FIFO order and wait origin
    ready_from: date
    deadline: date          # requirement end, else sentence end (before the safety margin)
    pdu_code: str = ""
    availability: frozenset[tuple[int, Period]] = frozenset()  # empty = available any time
    reachable_offices: frozenset[str] = frozenset()            # empty = any office in the region
    excluded_offices: frozenset[str] = frozenset()
    non_associations: frozenset[str] = frozenset()             # crns
    current_cohort_id: str | None = None                       # in the published plan, not pinned
    ethnicity_group: str = ""                                  # ONS group, for the equity goal only
    moves: int = 0                                             # times plans moved its published place
    overrides: tuple[Override, ...] = ()                       # keep / never / hold overrides naming it
    equity_weight: int = 0                                     # added to its deadline-miss weight, 1 + it times
                                                               # its wait cost: its group's realised in-time
                                                               # share trails the region's


@dataclass(frozen=True)
class CohortOption:
    """A cohort that exists (OPEN) or that the plan may open (CANDIDATE)."""

    cohort_id: str
    programme_code: str
    pathway: str
    offence_cohort: str
    ldc: bool
    sex: str                 # MALE | FEMALE | MIXED
    office_code: str
    pdu_code: str
    slots: tuple[Slot, ...]
    start_date: date
    end_date: date           # last session including the post-programme review
    min_size: int
    max_size: int
    state: CohortState
    members: tuple[str, ...] = ()            # pinned referral ids (started / frozen), count towards size
    member_crns: tuple[str, ...] = ()        # their crns, for non-associations
    member_non_associations: frozenset[str] = frozenset()  # crns the fixed members name (the other side)
    facilitator_ids: tuple[str, ...] = ()    # already assigned (OPEN cohorts)
    facilitators_required: int = 2
    facilitator_weekly_hours: float = 7.0    # delivery + preparation per facilitator per week
    group_weeks: int = 1                     # weeks in which group sessions run (load span)
    load_start: date | None = None           # first group session (default: start_date)
    overrides: tuple[Override, ...] = ()     # lock overrides on it
    forecast_joiners: int = 0                # > 0: offered on a forecast, this many of its minimum expected later
    extra: bool = False                      # offered beyond the grid's budget: the plan without such candidates
                                             # is found first, and one with them must rank above it (solver.model)

    @property
    def free_places(self) -> int:
        return self.max_size - len(self.members)

    def joined(self, demands: Sequence[Demand]) -> CohortOption:
        """This cohort with ``demands`` added as fixed members."""
        return replace(self, members=self.members + tuple(d.referral_id for d in demands),
                       member_crns=self.member_crns + tuple(d.crn for d in demands),
                       member_non_associations=self.member_non_associations.union(
                           *(d.non_associations for d in demands)))

    @cached_property
    def load_weeks(self) -> tuple[date, ...]:
        """Mondays of the weeks in which this cohort's facilitators carry its load (computed once)."""
        begin = self.load_start or self.start_date
        first = begin - timedelta(days=begin.weekday())
        return tuple(first + timedelta(weeks=i) for i in range(max(1, self.group_weeks)))


@dataclass(frozen=True)
class Facilitator:
    facilitator_id: str
    programmes: frozenset[str]
    offices: frozenset[str]                                 # offices they can reach
    weekly_hours: float                                     # contracted delivery + prep hours
    availability: frozenset[tuple[int, Period]] = frozenset()  # empty = any slot
    absences: tuple[tuple[date, date], ...] = ()             # inclusive ranges
    active_until: date | None = None                         # left on


@dataclass(frozen=True)
class Office:
    office_code: str
    pdu_code: str
    rooms: int = 1


@dataclass(frozen=True)
class Params:
    """Allocator parameters, passed as data: the solver never reads the environment."""

    freeze_days: int = 14
    deadline_margin_days: int = 14
    horizon_weeks: int = 52
    wait_target_weeks: int = 18
    wait_slope_step: int = 1         # extra cost per week waited past the target, and again past a year
    move_threshold_weeks: int = 8    # a published place moves only for a wait at least this much shorter
    max_moves: int = 0               # moved this often, a person keeps their running place (0: no cap)
    stability_first: bool = False    # rank changes to published places above waits (solver.model.tiers)
    open_threshold: float = 1.0      # share of a cohort's min size that must wait before opening
    time_limit_s: float | None = 10.0  # reproducible: a deterministic budget worth about this many wall seconds on
                                       # a busy 2-core machine (less when idle), capped at 4× wall; else wall
                                       # seconds. None: sized to the model (solver.model.sized_time_limit)
    workers: int = 2
    seed: int = 7
    objective_mode: str = "lexicographic"  # lexicographic | weighted
    reproducible: bool = True              # deterministic time budget: same problem, same plan
    focus: frozenset[tuple[str, str]] | None = None  # (programme, office) cells free to change; None = all
    # Equity goal (solver/objectives/equity.py): a group of at least equity_min_group of the people this plan
    # must place may miss up to equity_gap_points more often than the plan; each person beyond costs
    # equity_weight in tier 1 (0 turns the goal off).
    equity_weight: int = 0
    equity_gap_points: float = 5.0
    equity_min_group: int = 10
    equity_dimensions: tuple[str, ...] = ("sex", "ldc", "ethnicity", "pdu")
    # Read by the engine, not the solver: each person of a group (sex, LDC) whose realised in-time share trails
    # the region's by more than equity_trailing_points gets equity_trailing_weight on Demand.equity_weight.
    equity_trailing_weight: int = 0
    equity_trailing_points: float = 5.0
    # Tier-1 costs (solver/objectives/forecast.py) of opening a cohort offered on a forecast
    # (CohortOption.forecast_joiners > 0) and of each person moved off a place they hold into one (0: none).
    forecast_open_cost: int = 0
    forecast_move_cost: int = 0
    # Tier-1 costs (solver/objectives/extra_groups.py) of opening a cohort offered beyond the grid's budget
    # (CohortOption.extra) and of each person moved off a place they hold into one (0: none).
    extra_open_cost: int = 0
    extra_move_cost: int = 0


@dataclass(frozen=True)
class Problem:
    region_code: str
    as_of: date
    demands: tuple[Demand, ...]
    cohorts: tuple[CohortOption, ...]
    facilitators: tuple[Facilitator, ...] = ()
    offices: tuple[Office, ...] = ()
    params: Params = field(default_factory=Params)

    def cohort(self, cohort_id: str) -> CohortOption:
        return self._cohorts_by_id()[cohort_id]

    @property
    def overrides(self) -> tuple[Override, ...]:
        """Every override the demands and cohorts carry, in the order they were made."""
        return tuple(sorted({o for item in (*self.demands, *self.cohorts) for o in item.overrides}))

    def core(self) -> Problem:
        """The problem without the candidates offered beyond the grid's budget (``CohortOption.extra``): what
        the baselines plan, and CP-SAT plans first."""
        if not any(c.extra for c in self.cohorts):
            return self
        return replace(self, cohorts=tuple(c for c in self.cohorts if not c.extra))

    def _cohorts_by_id(self) -> Mapping[str, CohortOption]:
        return {c.cohort_id: c for c in self.cohorts}


@dataclass(frozen=True)
class Assignment:
    referral_id: str
    cohort_id: str
    reason: str  # why this cohort, in one line


@dataclass(frozen=True)
class OpenedCohort:
    cohort_id: str
    facilitator_ids: tuple[str, ...]


@dataclass(frozen=True)
class Unallocated:
    referral_id: str
    reason: UnallocatedReason
    detail: str = ""


@dataclass(frozen=True)
class Plan:
    allocator: str
    region_code: str
    as_of: date
    assignments: tuple[Assignment, ...]
    opened: tuple[OpenedCohort, ...] = ()
    unallocated: tuple[Unallocated, ...] = ()
    objective: Mapping[str, float] = field(default_factory=dict)
    status: str = "FEASIBLE"
    best_bound: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    trace: tuple[tuple[float, str, float], ...] = ()  # (seconds, stage, objective) per improving solution
    note: str = ""                                      # e.g. why a fallback plan was returned

    def cohort_of(self, referral_id: str) -> str | None:
        return next((a.cohort_id for a in self.assignments if a.referral_id == referral_id), None)


class Allocator(Protocol):
    """The allocation seam: the engine calls this and nothing else."""

    name: str

    def allocate(self, problem: Problem) -> Plan: ...
