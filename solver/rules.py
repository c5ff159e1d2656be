"""Pure allocation rules shared by the baselines and the checker, so both read the rules the same way.

Every predicate takes plain :mod:`solver.schema` data. :class:`Ledger` records the claims that running
cohorts make on facilitator weeks, facilitator slots and office rooms; the baselines grow it one cohort
at a time, and the checker builds it from a whole plan and asks which claims overflow.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from functools import lru_cache

from solver.schema import (
    CohortOption,
    CohortState,
    Demand,
    Facilitator,
    Params,
    Period,
    Problem,
    UnallocatedReason,
)

SEX_GROUPS = {"FEMALE": frozenset({"FEMALE", "MIXED"}), "MALE": frozenset({"MALE", "MIXED"})}
MIXED_ONLY = frozenset({"MIXED"})  # a person of unrecorded sex only joins mixed groups
RISK_ORDER = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
HOURS_TOLERANCE = 1e-9  # float sums of weekly hours must not fail on rounding

# Stage a cohort got to before failing: a later stage is the more specific explanation for a planner.
REASON_SPECIFICITY = {
    UnallocatedReason.NO_COMPATIBLE_COHORT: 0,
    UnallocatedReason.NOT_AVAILABLE: 1,
    UnallocatedReason.NOT_READY: 2,
    UnallocatedReason.NO_COHORT_BEFORE_DEADLINE: 3,
}

GroupKey = tuple[str, str, str, bool]
SlotWeek = tuple[int, str, date]  # weekday, start time, Monday of the week


# ---- referral to cohort -------------------------------------------------------------------------

def group_key(item: Demand | CohortOption) -> GroupKey:
    """Programme, pathway, offence cohort and LDC variant must all match, so they index cohorts."""
    return (item.programme_code, item.pathway, item.offence_cohort, item.ldc)


def same_group(demand: Demand, cohort: CohortOption) -> bool:
    """Field by field rather than via group_key: this runs for every referral-cohort pair."""
    return (demand.programme_code == cohort.programme_code and demand.pathway == cohort.pathway
            and demand.offence_cohort == cohort.offence_cohort and demand.ldc == cohort.ldc)


def sex_allowed(person_sex: str, cohort_sex: str) -> bool:
    """A woman only joins FEMALE or MIXED groups, a man only MALE or MIXED."""
    return cohort_sex in SEX_GROUPS.get(person_sex, MIXED_ONLY)


def office_allowed(demand: Demand, office_code: str) -> bool:
    """An empty reachable set means any office in the region; exclusions always win."""
    if office_code in demand.excluded_offices:
        return False
    return not demand.reachable_offices or office_code in demand.reachable_offices


def available_on(availability: frozenset[tuple[int, Period]], slots: Iterable) -> bool:
    """Availability (empty = any time) must include every weekly slot (anything with ``weekday`` and
    ``period``), or the person misses sessions."""
    return not availability or all((s.weekday, s.period) in availability for s in slots)


def covers_slots(availability: frozenset[tuple[int, Period]], cohort: CohortOption) -> bool:
    return _covers(availability, tuple(cohort.slots))


@lru_cache(maxsize=1 << 16)
def _covers(availability: frozenset[tuple[int, Period]], slots: tuple) -> bool:
    """Cached: it runs for every person × cohort pair (1.6 s of a large region's model and 4 s of its
    current-practice plan on a busy machine), over a few hundred distinct availabilities and tracks."""
    return available_on(availability, slots)


def latest_end(demand: Demand, params: Params) -> date:
    """The last day a cohort may finish: the deadline less the catch-up margin."""
    return demand.deadline - timedelta(days=params.deadline_margin_days)


def finishes_in_time(demand: Demand, cohort: CohortOption, params: Params) -> bool:
    return cohort.end_date <= latest_end(demand, params)


def compatible(demand: Demand, cohort: CohortOption, params: Params, as_of: date) -> UnallocatedReason | None:
    """None when the person may take a place on the cohort, else why not (stages in specificity order).

    Intake is closed: a cohort that started before ``as_of`` takes nobody new.
    """
    if cohort.start_date < as_of or not same_group(demand, cohort) or not sex_allowed(demand.sex, cohort.sex):
        return UnallocatedReason.NO_COMPATIBLE_COHORT
    if not office_allowed(demand, cohort.office_code) or not covers_slots(demand.availability, cohort):
        return UnallocatedReason.NOT_AVAILABLE
    if cohort.start_date < demand.ready_from:
        return UnallocatedReason.NOT_READY
    if not finishes_in_time(demand, cohort, params):
        return UnallocatedReason.NO_COHORT_BEFORE_DEADLINE
    return None


def last_ends(cohorts: Iterable[CohortOption]) -> dict[GroupKey, date]:
    """The latest end of any cohort per programme group: beyond it, a plan has nothing to offer."""
    last: dict[GroupKey, date] = {}
    for cohort in cohorts:
        key = group_key(cohort)
        last[key] = max(last.get(key, cohort.end_date), cohort.end_date)
    return last


def deferrable(demand: Demand, ends: Mapping[GroupKey, date], params: Params) -> bool:
    """Could still finish in time on a cohort starting after every cohort in the plan: not a miss yet."""
    last = ends.get(group_key(demand))
    return last is not None and latest_end(demand, params) > last


def most_specific_reason(
    demand: Demand, cohorts: Iterable[CohortOption], params: Params, as_of: date
) -> UnallocatedReason | None:
    """None if some cohort is compatible; otherwise the failure that got furthest, to tell the planner
    the closest miss (a deadline miss says more than a programme mismatch)."""
    best = UnallocatedReason.NO_COMPATIBLE_COHORT
    for cohort in cohorts:
        reason = compatible(demand, cohort, params, as_of)
        if reason is None:
            return None
        best = max(best, reason, key=REASON_SPECIFICITY.__getitem__)
    return best


def risk_rank(risk_band: str) -> int:
    return RISK_ORDER.get(risk_band, len(RISK_ORDER))


# ---- non-associations ---------------------------------------------------------------------------

def demands_conflict(a: Demand, b: Demand) -> bool:
    """Either side naming the other is enough: a non-association protects both people."""
    return b.crn in a.non_associations or a.crn in b.non_associations


def conflicts_with_members(demand: Demand, cohort: CohortOption) -> bool:
    """Both directions: the newcomer names a fixed member, or a fixed member names the newcomer."""
    return (demand.crn in cohort.member_non_associations
            or (bool(demand.non_associations) and not demand.non_associations.isdisjoint(cohort.member_crns)))


def conflicts_with_any(demand: Demand, others: Iterable[Demand]) -> bool:
    return any(demands_conflict(demand, other) for other in others)


# ---- facilitators and rooms ---------------------------------------------------------------------

def slot_weeks(cohort: CohortOption) -> list[SlotWeek]:
    """Every (weekday, start, week) the cohort occupies; repeated slots count once."""
    times = sorted({(s.weekday, s.start) for s in cohort.slots})
    return [(day, start, week) for week in cohort.load_weeks for day, start in times]


def absent_during(facilitator: Facilitator, first: date, last: date) -> bool:
    return any(begin <= last and first <= end for begin, end in facilitator.absences)


def can_run(facilitator: Facilitator, programme_code: str, office_code: str, slots: Iterable) -> bool:
    """Trained for the programme, able to reach the office (empty = any) and free on every weekly slot."""
    f = facilitator
    return (programme_code in f.programmes and (not f.offices or office_code in f.offices)
            and _covers(f.availability, tuple(slots)))


def facilitator_eligible(facilitator: Facilitator, cohort: CohortOption) -> bool:
    """Can run the cohort's track (:func:`can_run`) and is present for the whole run."""
    f = facilitator
    return (
        can_run(f, cohort.programme_code, cohort.office_code, cohort.slots)
        and not absent_during(f, cohort.start_date, cohort.end_date)
        and (f.active_until is None or f.active_until >= cohort.end_date)
    )


def room_counts(problem: Problem) -> dict[str, int]:
    """Rooms per office; the caller defaults a missing office to one room."""
    return {office.office_code: office.rooms for office in problem.offices}


class Ledger:
    """Claims of running cohorts: facilitator hours per week, facilitator slots and rooms per slot-week.

    Each claim lists the cohort ids behind it so violations can name them.
    """

    def __init__(self) -> None:
        self.hours: dict[tuple[str, date], float] = defaultdict(float)
        self.runs: dict[tuple[str, date], list[str]] = defaultdict(list)
        self.booked: dict[tuple[str, int, str, date], list[str]] = defaultdict(list)
        self.rooms: dict[tuple[str, int, str, date], list[str]] = defaultdict(list)

    def add(self, cohort: CohortOption, facilitator_ids: Sequence[str]) -> None:
        for week in cohort.load_weeks:
            for fid in facilitator_ids:
                self.hours[(fid, week)] += cohort.facilitator_weekly_hours
                self.runs[(fid, week)].append(cohort.cohort_id)
        for day, start, week in slot_weeks(cohort):
            self.rooms[(cohort.office_code, day, start, week)].append(cohort.cohort_id)
            for fid in facilitator_ids:
                self.booked[(fid, day, start, week)].append(cohort.cohort_id)

    def facilitator_fits(self, facilitator: Facilitator, cohort: CohortOption) -> bool:
        """Eligible, within weekly hours in every load week, and not booked elsewhere on any slot-week."""
        return facilitator_eligible(facilitator, cohort) and self.load_fits(
            facilitator.facilitator_id, facilitator.weekly_hours, cohort)

    def load_fits(self, facilitator_id: str, weekly_hours: float, cohort: CohortOption,
                  since: date | None = None) -> bool:
        """The cohort's load on top of these claims keeps the facilitator within ``weekly_hours`` and off
        any other group at the same time, in every load week from the week of ``since`` (all when None)."""
        first = since - timedelta(days=since.weekday()) if since else date.min
        extra = cohort.facilitator_weekly_hours
        if any(self.hours.get((facilitator_id, w), 0.0) + extra > weekly_hours + HOURS_TOLERANCE
               for w in cohort.load_weeks if w >= first):
            return False
        return not any(self.booked.get((facilitator_id, d, s, w)) for d, s, w in slot_weeks(cohort) if w >= first)

    @classmethod
    def of(cls, cohorts: Iterable[CohortOption], opened: Mapping[str, Sequence[str]] | None = None) -> Ledger:
        """Claims of the running (OPEN) cohorts and of the candidates ``opened`` with their staff
        (a facilitator listed twice for one cohort counts once)."""
        ledger, opened = cls(), opened or {}
        for cohort in cohorts:
            if cohort.state == CohortState.OPEN:
                ledger.add(cohort, cohort.facilitator_ids)
            elif cohort.cohort_id in opened:
                ledger.add(cohort, tuple(dict.fromkeys(opened[cohort.cohort_id])))
        return ledger

    def room_free(self, cohort: CohortOption, rooms: int) -> bool:
        return all(len(self.rooms.get((cohort.office_code, d, s, w), ())) < rooms
                   for d, s, w in slot_weeks(cohort))
