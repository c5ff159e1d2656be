"""Random small problems: every baseline plan passes the checker and the same problem gives the same plan."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.baselines import CurrentPracticeAllocator, FifoAllocator
from solver.check import check_plan
from solver.schema import CohortState, Office, Params, Period, Problem, Slot
from tests.unit.solver.factories import (
    AS_OF,
    make_cohort,
    make_demand,
    make_facilitator,
)

ALLOCATORS = [FifoAllocator(), CurrentPracticeAllocator()]
OFFICES = ("OFF1", "OFF2", "OFF3")
SLOTS = (Slot(1, "10:00"), Slot(1, "18:00", Period.EVENING), Slot(3, "10:00"))
TIMES = tuple((day, period) for day in (1, 3) for period in Period)
CRNS = tuple(f"X{i:02d}" for i in range(30))
COHORT_IDS = tuple(f"K{i}" for i in range(8))
STAFF_IDS = tuple(f"F{i}" for i in range(6))

# Strategies are built once: constructing them inside draws dominates the run time.
programme = st.sampled_from(("BC",) * 7 + ("HSP",))
office = st.sampled_from(OFFICES)
times = st.frozensets(st.sampled_from(TIMES))
# Weighted towards the permissive defaults so that enough plans place people and open cohorts.
unrestricted = st.just(frozenset())
anytime = st.one_of(unrestricted, unrestricted, unrestricted, times)
anywhere = st.one_of(unrestricted, unrestricted, st.frozensets(office, min_size=1, max_size=2))
rarely = st.sampled_from((True,) + (False,) * 4)
mostly_standard = st.sampled_from((False,) * 15 + (True,))
demand_fields = st.fixed_dictionaries(dict(
    programme_code=programme, ldc=mostly_standard, sex=st.sampled_from(("MALE", "FEMALE")),
    risk_band=st.sampled_from(("HIGH", "MEDIUM", "LOW")), availability=anytime,
    reachable_offices=anywhere,
    excluded_offices=st.sampled_from((frozenset(), frozenset(), frozenset({"OFF3"}))),
    non_associations=st.frozensets(st.sampled_from(CRNS[:6] + ("Y1", "Y2")), max_size=2),
    current_cohort_id=st.none() | st.sampled_from(COHORT_IDS),
))
cohort_fields = st.fixed_dictionaries(dict(
    programme_code=programme, ldc=mostly_standard, sex=st.sampled_from(("MIXED", "MIXED", "MALE", "FEMALE")),
    office_code=st.sampled_from(("OFF1", "OFF1", "OFF2", "OFF3")),
    slots=st.lists(st.sampled_from(SLOTS), min_size=1, max_size=2, unique=True).map(tuple),
    group_weeks=st.integers(1, 20), state=st.sampled_from((CohortState.OPEN,) + (CohortState.CANDIDATE,) * 2),
    facilitators_required=st.integers(1, 2), facilitator_weekly_hours=st.sampled_from((3.5, 7.0, 10.0)),
))
member_crn = st.sampled_from(CRNS[:6] + ("Y1", "Y2", "Y3"))
open_staff = st.lists(st.sampled_from(STAFF_IDS), max_size=2, unique=True).map(tuple)
staff_fields = st.fixed_dictionaries(dict(
    programmes=st.frozensets(programme, min_size=1), offices=anywhere,
    weekly_hours=st.sampled_from((7.0, 10.0, 14.0, 21.0)), availability=anytime,
))


@cache
def days_between(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


def day(draw, low: int, high: int):
    return AS_OF + timedelta(days=draw(days_between(low, high)))


@st.composite
def demand(draw):
    dates = dict(referred_on=day(draw, -300, 0), ready_from=day(draw, -60, 60), deadline=day(draw, 60, 500))
    return make_demand(**dates, **draw(demand_fields))


@st.composite
def cohort(draw):
    fields, start = draw(cohort_fields), day(draw, -14, 70)
    min_size = draw(st.integers(1, 4))
    max_size = draw(st.integers(min_size, min_size + 6))
    members = draw(st.integers(0, max_size)) if fields["state"] == CohortState.OPEN else 0
    return make_cohort(
        start_date=start, end_date=start + timedelta(days=draw(days_between(30, 250))),
        min_size=min_size, max_size=max_size, members=tuple(f"M{i}" for i in range(members)),
        member_crns=tuple(draw(member_crn) for _ in range(members)),
        facilitator_ids=draw(open_staff) if fields["state"] == CohortState.OPEN else (), **fields,
    )


@st.composite
def facilitator(draw):
    absent_from = day(draw, 0, 200)
    absences = ((absent_from, absent_from + timedelta(days=14)),) if draw(rarely) else ()
    active_until = day(draw, 60, 400) if draw(rarely) else None
    return make_facilitator(absences=absences, active_until=active_until, **draw(staff_fields))


DEMAND, COHORT, FACILITATOR = demand(), cohort(), facilitator()


@st.composite
def problems(draw, demands=(2, 30), cohorts=(1, 8), staff=(0, 6), **params) -> Problem:
    """2-30 demands, 1-8 cohorts mixing OPEN and CANDIDATE, 0-6 facilitators by default; ids may dangle on
    purpose; ``params`` are fixed Params fields (the rest drawn)."""
    sizes = draw(st.tuples(st.integers(*demands), st.integers(*cohorts), st.integers(*staff)))
    people, groups, workers = (draw(st.lists(strategy, min_size=n, max_size=n))
                               for strategy, n in zip((DEMAND, COHORT, FACILITATOR), sizes))
    drawn = dict(deadline_margin_days=draw(st.sampled_from((0, 14, 28))),
                 open_threshold=draw(st.sampled_from((0.5, 1.0, 1.5))))
    return Problem(
        region_code="REG", as_of=AS_OF,
        demands=tuple(replace(d, referral_id=f"R{i:02d}", crn=CRNS[i]) for i, d in enumerate(people)),
        cohorts=tuple(replace(c, cohort_id=COHORT_IDS[i]) for i, c in enumerate(groups)),
        facilitators=tuple(replace(f, facilitator_id=STAFF_IDS[i]) for i, f in enumerate(workers)),
        offices=(Office("OFF1", "PDU1", rooms=draw(st.integers(1, 2))),
                 Office("OFF2", "PDU1", rooms=draw(st.integers(1, 2)))),
        params=Params(**{**drawn, **params}),
    )


def without_timing(plan):
    return replace(plan, solve_seconds=0.0)


# Generation dominates the run time, so each generated problem is shared by both baselines.
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(problem=problems())
def test_every_baseline_plan_passes_the_checker(problem):
    for allocator in ALLOCATORS:
        assert check_plan(problem, allocator.allocate(problem)) == [], allocator.name


@PROPERTY_SETTINGS
@given(problem=problems())
def test_the_same_problem_in_any_input_order_gets_the_same_plan(problem):
    reordered = replace(problem, demands=problem.demands[::-1], cohorts=problem.cohorts[::-1],
                        facilitators=problem.facilitators[::-1])
    for allocator in ALLOCATORS:
        first, again, other = (without_timing(allocator.allocate(p)) for p in (problem, problem, reordered))
        assert first == again == other, allocator.name
