"""Decision-variable container: create, look up, fix and extract the CP-SAT variables of one model.

Variables exist only where a rule could let them be 1: ``x`` for referral × cohort pairs every pair
rule allows, ``opened`` for candidate cohorts, ``staff`` for facilitator × candidate pairs every staff
rule allows — less those a model constraint would fix to 0 on the claims of running groups alone
(:mod:`solver.prune`). What the rules allow is kept beside them (``options_of``, ``joinable_of``,
``eligible_of``) for the explanations, which speak of every option a person had.
Names are readable (``x[referral=R12,cohort=C3]``) so a model dump explains itself.
OPEN cohorts are already running: their "opened" value is the constant 1.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from ortools.sat.python import cp_model

from solver.schema import CohortOption, CohortState, Demand, Facilitator, Problem

PairRule = Callable[[Demand, CohortOption, Problem], bool]
StaffRule = Callable[[Facilitator, CohortOption, Problem], bool]
Literal = cp_model.IntVar | int


class Variables:
    def __init__(self, model: cp_model.CpModel) -> None:
        self.model = model
        self.x: dict[tuple[str, str], cp_model.IntVar] = {}
        self.open: dict[str, cp_model.IntVar] = {}
        self.staff: dict[tuple[str, str], cp_model.IntVar] = {}
        self.cohorts_of: dict[str, list[str]] = defaultdict(list)    # referral id → cohort ids
        self.demands_of: dict[str, list[str]] = defaultdict(list)    # cohort id → referral ids
        self.staff_of: dict[str, list[str]] = defaultdict(list)      # cohort id → facilitator ids
        # What the pair and staff rules allow, variables or not (solver.prune leaves out those that must be 0)
        self.options_of: dict[str, list[str]] = defaultdict(list)    # referral id → cohort ids
        self.joinable_of: dict[str, list[str]] = defaultdict(list)   # cohort id → referral ids
        self.eligible_of: dict[str, list[str]] = {}                  # candidate id → facilitator ids
        self.pruned = 0  # variables the rules allow that were not created because a constraint fixes them to 0
        # Goals' own variables, each with how its best value follows from the decisions above: hints and
        # warm starts set them too, so a hint stays complete (what lets CP-SAT start from a known plan).
        self.derived: dict[cp_model.IntVar, Callable[[Callable[[cp_model.IntVar], int]], int]] = {}

    # ---- create --------------------------------------------------------------------------------

    def allow(self, referral_id: str, cohort_id: str) -> None:
        """Record that every pair rule allows the place (its variable may still be pruned)."""
        self.options_of[referral_id].append(cohort_id)
        self.joinable_of[cohort_id].append(referral_id)

    def add_place(self, demand: Demand, cohort: CohortOption) -> cp_model.IntVar:
        rid, cid = demand.referral_id, cohort.cohort_id
        var = self.model.new_bool_var(f"x[referral={rid},cohort={cid}]")
        self.x[(rid, cid)] = var
        self.cohorts_of[rid].append(cid)
        self.demands_of[cid].append(rid)
        return var

    def add_opening(self, cohort: CohortOption) -> cp_model.IntVar:
        var = self.model.new_bool_var(f"open[cohort={cohort.cohort_id}]")
        self.open[cohort.cohort_id] = var
        return var

    def add_staffing(self, facilitator: Facilitator, cohort: CohortOption) -> cp_model.IntVar:
        fid, cid = facilitator.facilitator_id, cohort.cohort_id
        var = self.model.new_bool_var(f"staff[facilitator={fid},cohort={cid}]")
        self.staff[(fid, cid)] = var
        self.staff_of[cid].append(fid)
        return var

    def add_derived(self, lower: int, upper: int, name: str,
                    best: Callable[[Callable[[cp_model.IntVar], int]], int]) -> cp_model.IntVar:
        """A goal's own variable; ``best(value_of)`` is its best value given the decisions' values."""
        var = self.model.new_int_var(lower, upper, name)
        self.derived[var] = best
        return var

    # ---- look up -------------------------------------------------------------------------------

    @property
    def allowed(self) -> int:
        """Places, openings and staffings the rules allow: the model's decision variables before pruning."""
        return (sum(map(len, self.options_of.values())) + len(self.eligible_of)
                + sum(map(len, self.eligible_of.values())))

    def opened(self, cohort: CohortOption) -> Literal:
        """1 for a running cohort, the decision for a candidate (0 for a candidate nobody can join)."""
        return 1 if cohort.state == CohortState.OPEN else self.open.get(cohort.cohort_id, 0)

    def places(self, cohort_id: str) -> list[cp_model.IntVar]:
        return [self.x[(rid, cohort_id)] for rid in self.demands_of.get(cohort_id, ())]

    def choices(self, referral_id: str) -> list[cp_model.IntVar]:
        return [self.x[(referral_id, cid)] for cid in self.cohorts_of.get(referral_id, ())]

    def all_vars(self) -> Iterable[cp_model.IntVar]:
        yield from self.x.values()
        yield from self.open.values()
        yield from self.staff.values()
        yield from self.derived

    # ---- fix and hint --------------------------------------------------------------------------

    def fix(self, var: cp_model.IntVar, value: int) -> None:
        self.model.add(var == value)

    def values_of(self, assignments: Mapping[str, str], opened: Mapping[str, Iterable[str]]) -> dict[int, int]:
        """Variable index → value for a plan given as data (every variable gets a value)."""
        staffed = {(fid, cid) for cid, fids in opened.items() for fid in fids}
        values = {var.index: int(assignments.get(rid) == cid) for (rid, cid), var in self.x.items()}
        values.update({var.index: int(cid in opened) for cid, var in self.open.items()})
        values.update({var.index: int(key in staffed) for key, var in self.staff.items()})
        values.update({var.index: best(lambda v: values.get(v.index, 0)) for var, best in self.derived.items()})
        return values

    def represents(self, assignments: Mapping[str, str], opened: Mapping[str, Iterable[str]]) -> bool:
        """True when every placement and staffing of the plan has a variable (the plan is expressible)."""
        return (all((rid, cid) in self.x for rid, cid in assignments.items())
                and all(cid in self.open and all((f, cid) in self.staff for f in fids)
                        for cid, fids in opened.items()))

    def hint(self, values: Mapping[int, int]) -> None:
        """Hint every variable (a complete hint is what lets CP-SAT start from a known plan)."""
        self.model.clear_hints()
        for var in self.all_vars():
            self.model.add_hint(var, values.get(var.index, 0))

    # ---- extract -------------------------------------------------------------------------------

    def extract(self, value: Callable[[cp_model.IntVar], int]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
        """(referral id → cohort id, opened candidate id → facilitator ids) from a solution."""
        chosen = {rid: cid for (rid, cid), var in self.x.items() if value(var)}
        opened = {cid: tuple(sorted(fid for fid in self.staff_of.get(cid, ()) if value(self.staff[(fid, cid)])))
                  for cid, var in self.open.items() if value(var)}
        return chosen, opened
