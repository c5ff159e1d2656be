"""Facilitators a scenario removes or adds: whom a PDU loses, and what a new recruit is like."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from statistics import median

from engine.domain.model import Office
from engine.domain.capacity import FTE_WEEKLY_HOURS
from engine.services.whatif.base import Base
from engine.services.whatif.scenario import SYNTHETIC
from solver import schema as s


def committed_hours(problem: s.Problem) -> dict[str, float]:
    """Facilitator id → hours already committed to running (OPEN) cohorts from the plan date on."""
    monday = problem.as_of - timedelta(days=problem.as_of.weekday())
    out: dict[str, float] = {f.facilitator_id: 0.0 for f in problem.facilitators}
    for c in problem.cohorts:
        if c.state == s.CohortState.OPEN:
            weeks = sum(1 for w in c.load_weeks if w >= monday)
            for fid in c.facilitator_ids:
                out[fid] = out.get(fid, 0.0) + c.facilitator_weekly_hours * weeks
    return out


def remove_facilitators(base: Base, problem: s.Problem, counts: Mapping[str, int]) -> tuple[s.Problem, list[str]]:
    """Per PDU, the N facilitators with the fewest committed hours take no new group: first those who run
    no cohort the planner pins (started, or starting within the freeze window: ``base.pinned``). When a
    PDU has too few of those, the next ones (fewest committed hours) are taken too, and the note says so.
    Cohorts already running or confirmed keep their staff (a leaver finishes them): removing staff only
    ever takes options away from the plan."""
    locked = {fid for c in problem.cohorts if c.cohort_id in base.pinned for fid in c.facilitator_ids}
    hours, notes, gone = committed_hours(problem), [], set()
    for pdu, n in sorted(counts.items()):
        team = sorted((f for f in problem.facilitators if base.home_pdu.get(f.facilitator_id) == pdu),
                      key=lambda f: (f.facilitator_id in locked, hours.get(f.facilitator_id, 0.0), f.weekly_hours,
                                     f.facilitator_id))
        chosen = [f.facilitator_id for f in team[:n]]
        gone |= set(chosen)
        line = (f"removed {len(chosen)} facilitator{'s' * (len(chosen) != 1)} from {pdu} (no new group for them): "
                f"{', '.join(f'{f} ({hours.get(f, 0.0):g} h committed)' for f in chosen) or 'none'}")
        if len(chosen) < n:
            line += f" (asked for {n}: {pdu} has only {len(team)} active)"
        kept_on = [f for f in chosen if f in locked]
        if kept_on:
            line += (f"; {pdu} has too few facilitators without started or frozen cohorts, so "
                     f"{', '.join(kept_on)} {'is' if len(kept_on) == 1 else 'are'} removed too, finishing "
                     f"the cohorts they run (their hours there stay committed)")
        notes.append(line)
    return replace(problem, facilitators=tuple(f for f in problem.facilitators if f.facilitator_id not in gone)), notes


def typical_facilitator(base: Base, problem: s.Problem, offices: Sequence[Office], pdu: str,
                        programmes: frozenset[str] | None, slots: str = "any") -> tuple[s.Facilitator, str]:
    """A new facilitator as the PDU's team typically is: trained on every programme the team delivers
    (or ``programmes``), the team's median weekly hours, based at the PDU's hub(s) (its offices with
    group rooms), and working any slot (recruited for the evening groups too) or, with ``slots="team"``,
    the slots the team covers between them. A PDU without facilitators takes the region's team as its
    model; a PDU without a venue, the venues its team reaches (else every venue)."""
    team = [f for f in problem.facilitators if base.home_pdu.get(f.facilitator_id) == pdu]
    source = f"{pdu}'s team"
    if not team:
        team, source = list(problem.facilitators), "the region's team"
    if programmes:
        trained = frozenset(programmes)
    elif team:
        trained = frozenset().union(*(f.programmes for f in team))
    else:
        trained = frozenset(base.rules.catalogue.codes)
    hours = round(median(f.weekly_hours for f in team), 2) if team else FTE_WEEKLY_HOURS  # no team: full time
    if slots == "any" or not team or any(not f.availability for f in team):
        availability: frozenset = frozenset()
    else:
        availability = frozenset().union(*(f.availability for f in team))
    hubs = frozenset(o.office_code for o in offices if o.pdu_code == pdu and o.rooms > 0)
    if not hubs and team:
        hubs = frozenset().union(*(f.offices for f in team))
    hubs = hubs or frozenset(o.office_code for o in offices if o.rooms > 0)
    why = (f"trained on {', '.join(sorted(trained))}; {hours:g} h/week (median of {source}); "
           f"slots: {_slots(availability)}; offices {', '.join(sorted(hubs))}")
    return s.Facilitator("", trained, hubs, hours, availability), why


def _slots(availability: frozenset[tuple[int, s.Period]]) -> str:
    if not availability:
        return "any (daytime and evening)"
    periods = sorted({p.value.lower() for _, p in availability})
    return f"{len({d for d, _ in availability})} weekdays, {' and '.join(periods)}"


def add_facilitators(base: Base, problem: s.Problem, offices: Sequence[Office], counts: Mapping[str, int],
                     programmes: frozenset[str] | None, slots: str) -> tuple[s.Problem, list[str]]:
    added, notes, number = [], [], 0
    for pdu, n in sorted(counts.items()):
        if n <= 0:
            continue
        template, why = typical_facilitator(base, problem, offices, pdu, programmes, slots)
        ids = []
        for _ in range(n):
            number += 1
            ids.append(f"{SYNTHETIC}-F{number}")
            added.append(replace(template, facilitator_id=ids[-1]))
        notes.append(f"added {', '.join(ids)} in {pdu}: {why}")
    return replace(problem, facilitators=problem.facilitators + tuple(added)), notes

