"""What a service re-plan frees: the whole region, or only the programmes whose waiting people changed.

A worker re-plans a region each time events make it dirty. Re-planning all of it each time spends the whole
budget (sized to the region) on a few arrivals and lets them reshuffle places in programmes they never touched.
So the worker keeps each region's problem as it stood right after its last published plan, and the next
re-plan compares the problem now with it:

- the whole region, at the plan's own budget, on a new planning date (the day's first plan: the weekly plan
  of a region planned once a week), when facilitators, offices or any cohort changed (anything but the waiting
  people), or when nothing was kept (the worker's first plan of the region since it started);
- otherwise only the programmes whose waiting people arrived, changed or left
  (:func:`solver.incremental.changed_programmes`): their programme × office cells are freed, everything else
  holds its published plan (:mod:`solver.constraints.focus`), within the re-plan budget
  (``COHORTPLAN_REPLAN_TIME_LIMIT_S``). A focused plan that would miss more deadlines than current practice
  re-plans everything (:func:`solver.model.solve`).

Nothing here is a safety rule: a focused plan is checked like any other; the scope only decides how much of
the plan may move.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from solver.incremental import changed_programmes
from solver.schema import Problem


@dataclass(frozen=True)
class Scope:
    programmes: frozenset[str] | None  # None: the whole region
    why: str

    @property
    def full(self) -> bool:
        return self.programmes is None

    def describe(self) -> str:
        return "whole region" if self.full else f"programmes {', '.join(sorted(self.programmes)) or '(none)'}"


def scope_of(last: tuple[date, Problem] | None, now: Problem) -> Scope:
    """The scope of a re-plan of ``now`` given ``last``, (as of, problem) right after the last published plan."""
    if last is None:
        return Scope(None, "no plan published by this worker yet")
    as_of, before = last
    if as_of != now.as_of:
        return Scope(None, f"a new planning date ({now.as_of}, last {as_of})")
    for name in ("facilitators", "offices", "cohorts"):
        if getattr(before, name) != getattr(now, name):
            return Scope(None, f"{name} changed since the last plan")
    programmes = frozenset(changed_programmes(before, now))
    return Scope(programmes, f"waiting people changed in {', '.join(sorted(programmes))}" if programmes
                 else "nothing a plan reads changed")
