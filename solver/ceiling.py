"""The ceiling: a proven upper bound on how many people could have started in time, whatever the plan.

A clairvoyant planner knows every arrival, amendment and facilitator change from day one. This module
solves a **relaxation** of its problem, so that the optimum (and even CP-SAT's proven bound when the
solve stops early) is an upper bound on what any allocator can achieve under the real rules:

- a person counts when a cohort of a type they may join (programme, pathway, offence cohort, LDC variant,
  sex group — the rules no group may mix) starts in a week in which their start would count (given, per
  demand, by the caller: on or after they were ready, early enough to finish by their deadline, before
  the order ended);
- a cohort takes at most its type's maximum group size; a type may also name the period its sessions are
  in (daytime or evening): people join only where they can attend, and facilitators staff it only if
  they work then; and the weeks in which a group of it can start at all (``open_weeks``: the caller's
  to prove — e.g. weeks in which enough people of the type could be placed to reach the minimum size);
- cohorts need facilitator hours: for every capacity window ``[first_week, end_week)``, the cohorts that
  start and finish inside it (``span_weeks`` an upper bound on the weeks a cohort runs) use at least
  ``hours`` each (a lower bound: its group sessions and preparation), and together no more than the hours
  of the facilitators trained in the window's programmes (an upper bound on what they could give).

Dropped on purpose (each drop can only raise the optimum, so the bound stays valid): minimum group sizes
(groups run below their minimum once members leave, and one person may have made up the numbers of two
groups in turn, so no count of members per group is sure), venues and rooms, people's availability and
offices, non-associations, which facilitator takes which group and their weekly caps (only window totals
remain), and everyone who does not count in the measure (their places and hours are free here).

:func:`ceiling` returns the bound (``floor`` of CP-SAT's best bound), the best assignment found, and
whether the bound was proven optimal within the time limit.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from ortools.sat.python import cp_model

HOUR_SCALE = 100  # hours in hundredths: cohort hours rounded down, capacity rounded up (the bound stays valid)


@dataclass(frozen=True)
class CeilingDemand:
    demand_id: str
    types: tuple[str, ...]   # the cohort types the person may join
    weeks: tuple[int, ...]   # start weeks in which their start would count


@dataclass(frozen=True)
class CeilingType:
    type_id: str
    programme_code: str
    max_size: int
    hours: float             # facilitator hours one cohort needs in all (a lower bound)
    span_weeks: int          # weeks from its start week to its last session (an upper bound)
    period: str | None = None  # DAYTIME / EVENING: the facilitators it needs must work then
    open_weeks: frozenset[int] | None = None  # the only weeks a group of it can start (None: any)


@dataclass(frozen=True)
class CapacityWindow:
    first_week: int
    end_week: int                        # exclusive
    hours: float                         # facilitator hours the window's programmes could have (an upper bound)
    programmes: frozenset[str] | None = None  # None: every programme
    period: str | None = None                 # only groups in this period, and the staff who work then


@dataclass
class CeilingResult:
    bound: int                    # no allocator can start more of these demands in time
    found: int                    # the best clairvoyant assignment found (a lower bound on the relaxed optimum)
    optimal: bool
    status: str
    seconds: float
    started: frozenset[str] = field(default_factory=frozenset)  # demand ids in the best assignment found (which
    # of several interchangeable people is arbitrary)


def ceiling(demands: Iterable[CeilingDemand], types: Iterable[CeilingType], windows: Iterable[CapacityWindow],
            time_limit_s: float = 60.0, workers: int = 2, seed: int = 0) -> CeilingResult:
    began = time.perf_counter()
    kinds = {t.type_id: t for t in types}
    # People with the same types and weeks are interchangeable: one integer per (group, type, week) says
    # how many of them start there (the same optimum as a yes/no per person, far fewer variables).
    groups: dict[tuple[tuple[str, ...], tuple[int, ...]], list[str]] = defaultdict(list)
    for d in demands:
        usable = tuple(sorted(k for k in set(d.types) if k in kinds))
        if d.weeks and usable:
            groups[(usable, tuple(sorted(set(d.weeks))))].append(d.demand_id)
    model = cp_model.CpModel()
    takers: dict[tuple[str, int], list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    chosen: list[tuple[list[str], list[cp_model.IntVar]]] = []
    for g, ((usable, weeks), ids) in enumerate(sorted(groups.items())):
        options = []
        for k in usable:
            for w in weeks:
                if kinds[k].open_weeks is not None and w not in kinds[k].open_weeks:
                    continue
                var = model.new_int_var(0, len(ids), f"a[{g},{k},{w}]")
                takers[(k, w)].append((len(ids), var))
                options.append(var)
        model.add(sum(options) <= len(ids))
        chosen.append((ids, options))
    cohorts: dict[tuple[str, int], cp_model.IntVar] = {}
    for (k, w), vs in takers.items():
        kind = kinds[k]
        count = model.new_int_var(0, math.ceil(sum(n for n, _ in vs) / kind.max_size), f"c[{k},{w}]")
        model.add(sum(v for _, v in vs) <= kind.max_size * count)
        cohorts[(k, w)] = count
    for window in windows:
        inside = [(math.floor(kinds[k].hours * HOUR_SCALE), c) for (k, w), c in cohorts.items()
                  if window.first_week <= w and w + kinds[k].span_weeks <= window.end_week
                  and (window.programmes is None or kinds[k].programme_code in window.programmes)
                  and (window.period is None or kinds[k].period == window.period)]
        if inside:
            model.add(sum(h * c for h, c in inside) <= math.ceil(window.hours * HOUR_SCALE))
    model.maximize(sum(v for _, vs in chosen for v in vs))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    seconds = time.perf_counter() - began
    eligible = sum(len(ids) for ids, _ in chosen)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # no solution yet: the count is all we can prove
        return CeilingResult(eligible, 0, False, solver.status_name(status), seconds)
    started = frozenset(i for ids, vs in chosen for i in ids[:sum(solver.value(v) for v in vs)])
    bound = min(eligible, math.floor(solver.best_objective_bound + 1e-6))
    return CeilingResult(bound, len(started), status == cp_model.OPTIMAL, solver.status_name(status), seconds,
                         started)
