"""Variables a hard rule fixes to 0 on the running groups' claims alone are never created.

The candidate grid is blind to who could deliver a cohort (programme × venue × track × start week), and
after a year of plans most trained facilitators are committed to running groups in some of a candidate's
slot-weeks or hours. The model used to create every place, opening and staffing the pair and staff rules
allow and let the constraints fix most of them to 0: on the state after a year of current practice at three
times the default region, 608 of 638 candidates could not be staffed, and CP-SAT's presolve removed 86,610
of the model's 103,739 variables — after Python had spent seconds building them and presolve most of a 5 s
plan's first stage removing them (BENCHMARKS.md, issue 14: scale 3 at 5 s).

Each pruning below is the consequence of one model constraint with nothing but constants on its other
side, and is applied only when that constraint is among the rules being built (the rule tests build one
rule at a time), so the pruned model has exactly the feasible plans of the full one:

* double_booking: a facilitator running a group in one of a candidate's slot-weeks gets no staffing on it;
* facilitator_hours: nor does one whose spare hours in a load week are fewer than the candidate's load;
* facilitator_count: a candidate with fewer staffable facilitators than it needs never opens;
* rooms: nor does one whose office the running groups fill in one of its slot-weeks;
* min_size: nor does one that fewer people can join than the places it needs filled;
* and, with max_size (a place only on a cohort that runs) and facilitator_count (staff only on a cohort
  that opens), a candidate that never opens gets no opening, staffing or place variables at all.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from solver.build import Build
from solver.constraints.double_booking import clashes_with_running
from solver.constraints.facilitator_hours import over_hours_with_running
from solver.constraints.min_size import places_needed
from solver.constraints.rooms import no_room_beside_running

WHOLE_CANDIDATE = frozenset({"max_size", "facilitator_count"})  # what removing a candidate's variables needs


class Pruning(NamedTuple):
    """What not to create: staffings that must be 0, and candidates that can never open."""

    staff: set[tuple[str, str]]  # (facilitator id, candidate id)
    closed: set[str]             # candidate ids


def never_nonzero(b: Build, constraints: Collection[str]) -> Pruning:
    """The staffings and candidates the named constraints fix to 0 whatever the plan (see the module doc).
    Reads what the rules allow (``b.vars.eligible_of``, ``b.vars.joinable_of``); creates nothing."""
    out = Pruning(set(), set())
    booking, hours = "double_booking" in constraints, "facilitator_hours" in constraints
    for cid, fids in b.vars.eligible_of.items():
        cohort = b.cohorts[cid]
        out.staff.update((fid, cid) for fid in fids
                         if (booking and clashes_with_running(b, fid, cohort))
                         or (hours and over_hours_with_running(b, fid, cohort)))
    if not WHOLE_CANDIDATE <= set(constraints):
        return out
    for cid, fids in b.vars.eligible_of.items():
        cohort = b.cohorts[cid]
        staffable = sum(1 for fid in fids if (fid, cid) not in out.staff)
        if (staffable < cohort.facilitators_required
                or ("rooms" in constraints and no_room_beside_running(b, cohort))
                or ("min_size" in constraints and places_needed(cohort) > len(b.vars.joinable_of.get(cid, ())))):
            out.closed.add(cid)
    return out
