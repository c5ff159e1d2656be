"""Soft (tier 1): no group of people misses more often than the region beyond an allowance.

Deadline misses alone are blind to who misses: a women's group or an LDC variant needs a group of its own
opened at its minimum size (often half a general group) for the same facilitator hours, so a plan that
only counts misses serves the common variants first and the rare ones last (BENCHMARKS.md, issue 14:
women gained 1 start of 35 under CP-SAT while men gained 37). This term puts a price on that.

For each group of one dimension (sex, LDC, ethnicity group, PDU) with at least ``equity_min_group`` of
the people this plan must place (those deadline_misses counts) and not all of them, the group's miss rate
may exceed the plan's by ``equity_gap_points``; every person missed beyond that costs ``equity_weight``,
in the same tier as the misses themselves, so the plan trades a miss in a common group for one in a group
already behind whenever the weights say so — "where capacity allows". A group still behind when each of
its people who could be placed is placed is behind for want of capacity, which the report shows (the
realised share by group, flagged when it trails).

Linear form, for group g with n_g of the plan's n people, p_g and p of them placed (variables), missed
m = n − p: excess_g ≥ m_g − n_g·m/n − gap·n_g, in whole people, as
n·excess_g ≥ n_g·p − n·p_g − ⌊gap·n_g·n⌋.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import partial

from solver.build import Build, Term
from solver.schema import Demand

DIMENSIONS: dict[str, Callable[[Demand], str]] = {
    "sex": lambda d: d.sex,
    "ldc": lambda d: "LDC" if d.ldc else "not LDC",
    "ethnicity": lambda d: d.ethnicity_group,
    "pdu": lambda d: d.pdu_code,
}


def equity(b: Build) -> Term:
    """Soft: equity_weight × people missed in a group beyond the plan's miss rate plus the
    allowance, summed over every group of equity_min_group or more (people)."""
    term = Term("equity", 1)
    weight, gap = b.params.equity_weight, b.params.equity_gap_points / 100
    if weight <= 0:
        return term
    counted = [d for d in b.problem.demands if not b.deferrable(d)]
    n = len(counted)
    choices = {d.referral_id: b.vars.choices(d.referral_id) for d in counted}
    everyone = [v for vs in choices.values() for v in vs]
    for name, members in groups(counted, b.params.equity_min_group, b.params.equity_dimensions):
        n_g = len(members)
        inside = [v for d in members for v in choices[d.referral_id]]
        allowance = int(gap * n_g * n)
        excess = b.vars.add_derived(0, n_g, f"equity_excess[{name}]", partial(
            _least_excess, n=n, n_g=n_g, everyone=everyone, inside=inside, allowance=allowance))
        b.model.add(n * excess >= n_g * sum(everyone) - n * sum(inside) - allowance)
        term.add(weight, excess)
    return term


def _least_excess(value_of, n: int, n_g: int, everyone, inside, allowance: int) -> int:
    """The least excess the constraint allows given the places: ⌈(n_g·p − n·p_g − allowance) / n⌉, at least 0."""
    p, p_g = sum(map(value_of, everyone)), sum(map(value_of, inside))
    return max(0, -(-(n_g * p - n * p_g - allowance) // n))


def groups(demands: Iterable[Demand], min_size: int,
           dimensions: Iterable[str] = tuple(DIMENSIONS)) -> list[tuple[str, list[Demand]]]:
    """(dimension=value, members) for every group of at least ``min_size`` that is not everyone."""
    demands = list(demands)
    out = []
    for dimension in dimensions:
        value_of = DIMENSIONS[dimension]
        by_value: dict[str, list[Demand]] = defaultdict(list)
        for d in demands:
            value = value_of(d)
            if value:
                by_value[value].append(d)
        out += [(f"{dimension}={value}", members) for value, members in sorted(by_value.items())
                if min_size <= len(members) < len(demands)]
    return out
