"""The ceiling's relaxation: group sizes and facilitator hours bind, the bound is CP-SAT's proven one, and on
small instances it equals the exhaustive optimum of the same relaxed problem."""
from __future__ import annotations

import itertools
import math

from hypothesis import given, settings, strategies as st

from solver.ceiling import CapacityWindow, CeilingDemand, CeilingType, ceiling

MEN = CeilingType("BC-M/MALE", "BC-M", max_size=12, hours=100.0, span_weeks=20)
WOMEN = CeilingType("BC-M/FEMALE", "BC-M", max_size=12, hours=100.0, span_weeks=20)


def people(n: int, kind: CeilingType, weeks=(0,), prefix="R") -> list[CeilingDemand]:
    return [CeilingDemand(f"{prefix}{i}", (kind.type_id,), tuple(weeks)) for i in range(n)]


def test_one_cohort_of_hours_takes_its_maximum_group():
    result = ceiling(people(15, MEN), [MEN], [CapacityWindow(0, 30, 100.0)])
    assert (result.bound, result.found, result.optimal) == (12, 12, True)


def test_two_variants_that_cannot_mix_compete_for_the_same_facilitator_hours():
    result = ceiling(people(10, MEN) + people(7, WOMEN, prefix="W"), [MEN, WOMEN], [CapacityWindow(0, 30, 150.0)])
    assert result.bound == 10 and sum(d.startswith("W") for d in result.started) == 0


def test_hours_bind_only_cohorts_that_run_inside_the_window():
    late = people(12, MEN, weeks=(20,), prefix="L")  # runs weeks 20..40: outside the window [0, 30)
    result = ceiling(people(12, MEN) + late, [MEN], [CapacityWindow(0, 30, 100.0), CapacityWindow(0, 60, 200.0)])
    assert result.bound == 24
    squeezed = ceiling(people(12, MEN) + late, [MEN], [CapacityWindow(0, 60, 100.0)])
    assert squeezed.bound == 12


def test_a_window_for_other_programmes_leaves_these_alone_and_nobody_without_a_week_counts():
    other = CapacityWindow(0, 30, 0.0, programmes=frozenset({"BBR"}))
    nobody = [CeilingDemand("X", (MEN.type_id,), ())]
    assert ceiling(people(5, MEN) + nobody, [MEN], [other]).bound == 5


@settings(max_examples=25)
@given(st.lists(st.tuples(st.sampled_from([MEN.type_id, WOMEN.type_id]),
                          st.lists(st.integers(0, 3), min_size=1, max_size=2, unique=True)), min_size=1, max_size=5),
       st.integers(0, 3), st.integers(1, 3))
def test_the_bound_is_the_exhaustive_optimum_of_the_same_relaxation(rows, cohorts_of_hours, size):
    men, women = (CeilingType(k.type_id, "BC-M", size, 10.0, 1) for k in (MEN, WOMEN))
    demands = [CeilingDemand(f"R{i}", (k,), tuple(ws)) for i, (k, ws) in enumerate(rows)]
    result = ceiling(demands, [men, women], [CapacityWindow(0, 10, 10.0 * cohorts_of_hours)])
    best = 0
    choices = [[None] + [(d.types[0], w) for w in d.weeks] for d in demands]
    for pick in itertools.product(*choices):
        groups = {}
        for option in pick:
            if option is not None:
                groups[option] = groups.get(option, 0) + 1
        if sum(math.ceil(n / size) for n in groups.values()) <= cohorts_of_hours:
            best = max(best, sum(groups.values()))
    assert result.optimal and result.bound == best == result.found


def test_nobody_starts_in_a_week_no_group_of_their_type_can_open():
    closed = CeilingType(MEN.type_id, "BC-M", 12, 100.0, 20, open_weeks=frozenset({1}))
    demands = people(3, MEN, weeks=(0,)) + people(2, MEN, weeks=(0, 1), prefix="L")
    assert ceiling(demands, [closed], [CapacityWindow(0, 30, 1000.0)]).bound == 2
