"""The FTE sweep: the fewest added facilitators (1 step = 1 facilitator = 1 FTE at the PDU's typical weekly
hours) that bring deadline misses under a target share.

It assumes misses never grow as facilitators are added (more staff only adds options), so it gallops
(0, 1, 2, 4, 8, ...) to the first step that meets the target and bisects below it: it never solves a step
it does not need.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from engine.services.whatif.apply import apply_scenario
from engine.services.whatif.base import Base
from engine.services.whatif.compare import Outcome, SolveProgress, solve
from engine.services.whatif.scenario import Scenario, WhatIfError
from solver import schema as s
from solver.rules import last_ends


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
    time_limit_s: float | None  # None: sized to the model
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
            solved[fte] = SweepStep(fte, split, solve(allocator, problem, f"+{fte} FTE", progress, reach))
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
