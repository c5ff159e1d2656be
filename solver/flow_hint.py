"""A better warm start for large models: who takes which place by min-cost flow, which candidates open greedily.

Why: on a region three times the default, every plan's gain over current practice comes from chains — a person
holding a published place moves to a newly opened candidate so that someone who must start now takes the place
they left. Large-neighbourhood search from the current-practice plan finds such chains only when one random
neighbourhood happens to free all of their variables at once: a 5 s plan's tier 1 got 0.1-0.5 of a 60 s plan's
gain (BENCHMARKS.md, issue 14: scale 3 at 5 s). With the openings fixed, placing people is a transportation
problem, which a min-cost flow solves exactly in milliseconds, chains included; the openings are chosen greedily
on top of current practice's, each kept only when the flow then misses fewer weighted deadlines.

It is only a hint. :func:`satisfies` checks it against every constraint of the model itself, and the solve
uses it only when it holds and misses no more weighted deadlines than current practice; CP-SAT then starts from
it, and the tier-1 bound the warm start adds still guarantees a plan no worse than current practice.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from solver.build import Build
from solver.constraints.min_size import places_needed
from solver.objectives.deadline_misses import miss_weight
from solver.overrides import standing_of
from solver.rules import Ledger, demands_conflict
from solver.schema import CohortState, Plan

# Costs, each far above the sum of everything below it: a person holding a published place keeps a place
# (keep_published), an opened candidate reaches its minimum, a weighted deadline miss is avoided, a person
# who need not start yet takes a spare place (shorter waits), and a move off the cohort a person holds costs.
HELD, MIN_FILL, URGENT, OTHER, MOVE = 10 ** 9, 10 ** 6, 1_000, 2, 1
MAX_REPAIRS = 20  # non-associated pairs the flow put together, taken apart one re-solve at a time


def flow_plan(b: Build, baseline: Plan) -> tuple[dict[str, str], dict[str, tuple[str, ...]]] | None:
    """(referral → cohort, opened candidate → facilitators) starting from ``baseline``'s openings, or None when
    this problem has what the flow does not model (an incremental focus, overrides binding people to cohorts)."""
    if b.params.focus is not None or standing_of(b.problem).bound_to():
        return None
    opened = {o.cohort_id: tuple(o.facilitator_ids) for o in baseline.opened}
    if any(cid not in b.vars.open for cid in opened):
        return None
    flow = _Flow(b)
    best = flow.assign(opened)
    if best is None:
        return None
    ledger = Ledger.of(b.problem.cohorts, opened)
    for cid in flow.by_promise(best, opened):
        cohort = b.cohorts[cid]
        if not ledger.room_free(cohort, b.rooms.get(cohort.office_code, 1)):
            continue
        free = [fid for fid in b.vars.staff_of.get(cid, ()) if ledger.facilitator_fits(b.facilitators[fid], cohort)]
        if len(free) < cohort.facilitators_required:
            continue
        staff = tuple(free[:cohort.facilitators_required])
        trial = flow.assign({**opened, cid: staff})
        if trial is not None and flow.misses(trial) < flow.misses(best):
            best, opened[cid] = trial, staff
            ledger.add(cohort, staff)
    return best, opened


class _Flow:
    """The transportation problem of one build: people to places on running and opened cohorts."""

    def __init__(self, b: Build) -> None:
        self.b = b
        frozen_until = b.as_of + timedelta(days=b.params.freeze_days)
        self.fixed: dict[str, str] = {rid: cid for cid, rids in b.held_places(starting_by=frozen_until).items()
                                      for rid in rids}
        held = b.held_places()
        if b.params.max_moves > 0:  # the move cap holds these people where they are, as the freeze does
            self.fixed.update({rid: cid for cid, rids in held.items() for rid in rids
                               if b.demands[rid].moves >= b.params.max_moves})
        self.must = {rid for rids in held.values() for rid in rids}
        self.weight = {d.referral_id: miss_weight(d, b.params, b.as_of) for d in b.problem.demands
                       if not b.deferrable(d)}
        self.people = [rid for rid in b.vars.cohorts_of if rid not in self.fixed]

    def misses(self, chosen: Mapping[str, str]) -> int:
        return sum(w for rid, w in self.weight.items() if rid not in chosen)

    def by_promise(self, chosen: Mapping[str, str], opened: Mapping[str, tuple[str, ...]]) -> list[str]:
        """Candidates not yet open, by the weighted misses of the people left out who could join them (a
        candidate none of them can join may still open for a holder who leaves a place to one of them)."""
        promise: dict[str, int] = {cid: 0 for cid in self.b.vars.open if cid not in opened}
        for rid, w in self.weight.items():
            if rid not in chosen:
                for cid in self.b.vars.cohorts_of.get(rid, ()):
                    if cid in promise:
                        promise[cid] += w
        return sorted(promise, key=lambda cid: (-promise[cid], cid))

    def assign(self, opened: Mapping[str, tuple[str, ...]]) -> dict[str, str] | None:
        """Everyone's place with these candidates open, or None when a held person or an opened candidate's
        minimum cannot be met, or non-associations cannot be kept apart."""
        banned: set[tuple[str, str]] = set()
        for _ in range(MAX_REPAIRS):
            chosen = self._solve(opened, banned)
            if chosen is None:
                return None
            clash = self._clash(chosen)
            if clash is None:
                return self._valid(chosen, opened)
            banned.add(clash)
        return None

    def _solve(self, opened: Mapping[str, tuple[str, ...]], banned: set[tuple[str, str]]) -> dict[str, str] | None:
        b = self.b
        running = {cid for cid in b.vars.demands_of if b.cohorts[cid].state == CohortState.OPEN}
        usable = running | set(opened)
        fixed_on: dict[str, int] = defaultdict(int)
        for cid in self.fixed.values():
            fixed_on[cid] += 1
        cohorts = sorted(usable)
        source, sink = 0, 1
        person_node = {rid: 2 + i for i, rid in enumerate(self.people)}
        cohort_node = {cid: 2 + len(self.people) + i for i, cid in enumerate(cohorts)}
        tails, heads, caps, costs = [], [], [], []

        def arc(tail: int, head: int, cap: int, cost: int) -> None:
            tails.append(tail), heads.append(head), caps.append(cap), costs.append(cost)

        for rid in self.people:
            gain = HELD if rid in self.must else URGENT * self.weight[rid] if rid in self.weight else OTHER
            arc(source, person_node[rid], 1, -gain)
            current = b.demands[rid].current_cohort_id
            for cid in b.vars.cohorts_of[rid]:
                if cid in cohort_node and (rid, cid) not in banned:
                    arc(person_node[rid], cohort_node[cid], 1, MOVE if current and cid != current else 0)
        for cid in cohorts:
            room = max(0, b.cohorts[cid].free_places - fixed_on[cid])
            minimum = min(room, max(0, places_needed(b.cohorts[cid]) - fixed_on[cid])) if cid in opened else 0
            if minimum:
                arc(cohort_node[cid], sink, minimum, -MIN_FILL)
            if room > minimum:
                arc(cohort_node[cid], sink, room - minimum, 0)
        arc(source, sink, len(self.people), 0)  # nobody placed
        solver = min_cost_flow.SimpleMinCostFlow()
        solver.add_arcs_with_capacity_and_unit_cost(np.array(tails), np.array(heads), np.array(caps),
                                                    np.array(costs))
        solver.set_nodes_supplies(np.array([source, sink]), np.array([len(self.people), -len(self.people)]))
        if solver.solve() != solver.OPTIMAL:
            return None
        flows = solver.flows(np.arange(solver.num_arcs()))
        chosen = dict(self.fixed)
        index = 0  # arcs in the order added: each person's source arc, then its placements
        for rid in self.people:
            index += 1
            for cid in b.vars.cohorts_of[rid]:
                if cid in cohort_node and (rid, cid) not in banned:
                    if flows[index]:
                        chosen[rid] = cid
                    index += 1
        return chosen

    def _clash(self, chosen: Mapping[str, str]) -> tuple[str, str] | None:
        """A placement to forbid: the less urgent of two non-associated people the flow put together."""
        together: dict[str, list[str]] = defaultdict(list)
        for rid, cid in chosen.items():
            together[cid].append(rid)
        for cid, rids in sorted(together.items()):
            flagged = [rid for rid in rids if self.b.demands[rid].non_associations]
            for rid in flagged:
                for other in rids:
                    if other != rid and demands_conflict(self.b.demands[rid], self.b.demands[other]):
                        loser = min((rid, other), key=lambda r: (r in self.fixed, r in self.must,
                                                                  self.weight.get(r, 0), r))
                        return (loser, cid)
        return None

    def _valid(self, chosen: dict[str, str], opened: Mapping[str, tuple[str, ...]]) -> dict[str, str] | None:
        placed: dict[str, int] = defaultdict(int)
        for cid in chosen.values():
            placed[cid] += 1
        if any(rid not in chosen for rid in self.must):
            return None
        if any(placed[cid] < places_needed(self.b.cohorts[cid]) for cid in opened):
            return None
        return chosen


def satisfies(model: cp_model.CpModel, values: Mapping[int, int]) -> bool:
    """Every constraint of the model holds on ``values`` (variable index → value; a missing index is 0).
    Knows the constraint kinds the solver's rules use; any other kind counts as not holding."""
    def lit(ref: int) -> int:
        return values.get(ref, 0) if ref >= 0 else 1 - values.get(-ref - 1, 0)

    for ct in model.proto.constraints:
        if not all(lit(ref) for ref in ct.enforcement_literal):
            continue
        if ct.has_linear():
            total = sum(c * values.get(v, 0) for v, c in zip(ct.linear.vars, ct.linear.coeffs))
            domain = list(ct.linear.domain)
            if not any(lo <= total <= hi for lo, hi in zip(domain[::2], domain[1::2])):
                return False
        elif ct.has_bool_and():
            if not all(lit(ref) for ref in ct.bool_and.literals):
                return False
        elif ct.has_bool_or():
            if not any(lit(ref) for ref in ct.bool_or.literals):
                return False
        elif ct.has_at_most_one():
            if sum(lit(ref) for ref in ct.at_most_one.literals) > 1:
                return False
        elif ct.has_exactly_one():
            if sum(lit(ref) for ref in ct.exactly_one.literals) != 1:
                return False
        else:
            return False
    for index, var in enumerate(model.proto.variables):
        domain = list(var.domain)
        value = values.get(index, 0)
        if not any(lo <= value <= hi for lo, hi in zip(domain[::2], domain[1::2])):
            return False
    return True
