"""Small, valid event histories of one region (issue 12, "Safe decisions under any event order").

A history is drawn in three steps, each shrinking towards less:

1. A world: 2-6 people, each with a community order carrying a BC-M requirement, referred and (mostly)
   assessed suitable (:func:`tests.support.events.person_with_referral`); 1-3 BC-M cohorts the delivery
   team planned (MALE, FEMALE or MIXED; daytime Monday/Wednesday or evening Tuesday/Thursday; starting in
   weeks 4-14; minimum size 1-3); 2-3 facilitators with the hours for one or three groups.
2. Incidents on that world, each on a day of the ten weeks the plans span: a person's sex corrected, their
   availability or offices changed, non-associations named or cleared; a case merged into another known case
   or into a crn never seen; the order's end amended earlier or later; the requirement or the whole sentence
   terminated; a cohort confirmed by the delivery team (facilitators and members named), cancelled, or
   rescheduled to start inside, at or just outside the freeze window of the next plan (14 days), sometimes
   onto other slots.
3. Delivery: every event *arrives* at or after it happened — most at once, some an hour, days or weeks
   late — so events arrive out of order within a key (one crn) and across keys (a crn and the region). Some
   are sent again later with the same event id: the same message, or (``conflicts=True``) another payload.

Valid means an upstream system could send it: codes are reference data (region RS, PDU RS-P01, office
RS-P01-O1, programme BC-M); an incident about a person happens after their assessment and one about a
cohort after it was planned; after a merge, events about the source's case name the target crn (the
referral keeps its id) and non-associations name the target; a crn takes part in one merge at most; a
terminated order is not amended and a cancelled cohort not confirmed or rescheduled afterwards; confirmations
name registered facilitators and existing referrals. Every event happens at its own instant
(world events minutes apart in the morning, incidents a minute apart in the afternoon): no two
``occurred_at`` tie, except the copies of one event.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from tests.support.events import T0, cohort_planned, event, facilitator, person_with_referral

START = T0.date()  # Monday 6 January 2025: day 0
PLAN_DAYS = tuple(range(7, 78, 7))  # a plan every Monday, weeks 1 to 11
LAST_INCIDENT_DAY = PLAN_DAYS[-1] - 7
DAYTIME, EVENING = ((0, "10:00"), (2, "10:00")), ((1, "18:00"), (3, "18:00"))
WINDOWS = ((0, "DAYTIME"), (2, "DAYTIME"), (1, "EVENING"), (3, "EVENING"))
OFFICE = "RS-P01-O1"
# How late a message arrives: mostly at once (what shrinking goes to), sometimes later; now and then later
# than the park timeout (7 days), so that what waits for it expires.
DELAYS = (timedelta(0),) * 6 + (timedelta(hours=1), timedelta(days=2), timedelta(days=6), timedelta(days=20))
LATE = DELAYS[6:]
# A rescheduled cohort starts this many days after the next plan: at, inside and outside its freeze window.
FREEZE_OFFSETS = (14, 13, 15, 7, 21, 42)
AMENDED_END_DAYS = (900, 120, 200, 300, 500)  # an amended order ends this many days after it started


def at(day: int | date, hour: int = 0) -> datetime:
    """The instant ``hour`` o'clock UTC on a day (a day number counts from :data:`START`)."""
    day = START + timedelta(days=day) if isinstance(day, int) else day
    return datetime.combine(day, T0.timetz()).replace(hour=hour)


@dataclass(frozen=True)
class Sent:
    """One message: the JSON line, when it happened and when it reaches the engine."""

    line: str
    occurred: datetime
    arrives: datetime
    conflicting: bool = False  # another message had this event id first, with another payload

    @property
    def body(self) -> dict:
        return json.loads(self.line)

    def __str__(self) -> str:
        return self.text(arrival=True)

    def text(self, arrival: bool) -> str:
        """One line: when it happened (day number + time), when it arrives if later, type, id tail, payload."""
        body = self.body
        payload = " ".join(f"{k}={v}" for k, v in body["payload"].items() if v not in (None, "", "test"))
        late = f" (arrives {_day(self.arrives)})" if arrival and self.arrives != self.occurred else ""
        tag = " CONFLICTING" if self.conflicting else ""
        return f"{_day(self.occurred)}{late}{tag} {body['event_type']} id=…{body['event_id'][-6:]} {payload}"


def _day(instant: datetime) -> str:
    return f"d{(instant.date() - START).days}+{instant:%H:%M}"


@dataclass(frozen=True)
class History:
    """The messages of one region's history, in the order they were drawn."""

    events: tuple[Sent, ...]

    def arrival_order(self) -> list[Sent]:
        return sorted(self.events, key=lambda e: e.arrives)

    def occurred_order(self) -> list[Sent]:
        return sorted(self.events, key=lambda e: e.occurred)

    def batches(self) -> list[tuple[date, list[str]]]:
        """(plan date, the lines that arrived since the previous plan), every plan day and a last one
        after the last arrival."""
        pending, out = self.arrival_order(), []
        last = max(PLAN_DAYS[-1], (pending[-1].arrives.date() - START).days + 1)
        for day in (*PLAN_DAYS, last) if last > PLAN_DAYS[-1] else PLAN_DAYS:
            batch = [e for e in pending if e.arrives < at(day)]
            pending = pending[len(batch):]
            out.append((START + timedelta(days=day), [e.line for e in batch]))
        return out

    def __repr__(self) -> str:  # what a falsifying example prints: one message a line, as they arrive
        return "History(arrival order:\n  " + "\n  ".join(map(str, self.arrival_order())) + ")"

    def _repr_pretty_(self, printer, cycle) -> None:  # Hypothesis prints dataclasses field by field otherwise
        printer.text(repr(self))


@dataclass(frozen=True)
class Entry:
    """One of the world's people or cohorts: numbered from 1, and the day it first appears."""

    index: int
    day: int


@dataclass(frozen=True)
class Person(Entry):  # sentenced on ``day``
    sex: str
    months: int
    assessed: bool

    @property
    def crn(self) -> str:
        return f"X{self.index:06d}"

    @property
    def referral_id(self) -> str:
        return f"REF-{self.crn}"

    @property
    def start(self) -> date:
        return START + timedelta(days=self.day)

    def lines(self) -> list[str]:
        return person_with_referral(self.crn, at(self.day, 9) + timedelta(minutes=10 * self.index),
                                    months=self.months, sex=self.sex, assessed=self.assessed)


@dataclass(frozen=True)
class Group(Entry):  # planned on ``day``
    start_week: int
    sex: str
    slots: tuple
    min_size: int

    @property
    def cohort_id(self) -> str:
        return f"C{self.index}"

    def line(self) -> str:
        return cohort_planned(self.cohort_id, START + timedelta(weeks=self.start_week),
                              at(self.day, 9) + timedelta(minutes=70 + self.index), sex=self.sex,
                              slots=self.slots, min_size=self.min_size)


def people(count: int) -> st.SearchStrategy[tuple[Person, ...]]:
    one = st.builds(Person, st.just(0), st.integers(0, 10), st.sampled_from(("MALE", "MALE", "FEMALE")),
                    st.sampled_from((24, 8, 12)), st.sampled_from((True, True, True, False)))
    return st.lists(one, min_size=count, max_size=count).map(
        lambda ps: tuple(Person(i + 1, p.day, p.sex, p.months, p.assessed) for i, p in enumerate(ps)))


def groups(count: int) -> st.SearchStrategy[tuple[Group, ...]]:
    one = st.builds(Group, st.just(0), st.integers(0, 10), st.integers(4, 14),
                    st.sampled_from(("MIXED", "MALE", "FEMALE", "MIXED")), st.sampled_from((DAYTIME, EVENING)),
                    st.integers(1, 3))
    return st.lists(one, min_size=count, max_size=count).map(
        lambda gs: tuple(Group(i + 1, g.day, g.start_week, g.sex, g.slots, g.min_size) for i, g in enumerate(gs)))


class Draft:
    """A history being drawn: the world, the merges that rename crns over time, the messages so far."""

    def __init__(self, draw: Callable, world: tuple[tuple[Person, ...], tuple[Group, ...], tuple[str, ...]]):
        self.draw = draw
        self.people, self.groups, self.staff = world
        self.sent: list[Sent] = []
        self.merged: dict[str, tuple[str, datetime]] = {}  # source crn → (target crn, when)
        self.changed: dict[str, list[datetime]] = {}  # an order or a cohort → when it was changed
        self.ended: dict[str, datetime] = {}  # an order or a cohort → when it was terminated or cancelled
        self.minute = 0

    def send(self, line: str, conflicting: bool = False) -> None:
        occurred = datetime.fromisoformat(json.loads(line)["occurred_at"])
        self.sent.append(Sent(line, occurred, occurred + self.draw(st.sampled_from(DELAYS)), conflicting))

    def when(self, not_before: int) -> datetime:
        """A fresh afternoon instant on a drawn day, no earlier than day ``not_before``."""
        self.minute += 1
        day = max(self.draw(st.integers(0, LAST_INCIDENT_DAY)), not_before)
        return at(min(day, LAST_INCIDENT_DAY), 14) + timedelta(minutes=self.minute)

    def crn(self, crn: str, when: datetime) -> str:
        """The crn a case is known by at ``when``: its merge target once merged."""
        while crn in self.merged and self.merged[crn][1] < when:
            crn = self.merged[crn][0]
        return crn

    def may_change(self, subject: str, when: datetime) -> bool:
        """A terminated order or a cancelled cohort changes no more; a change that may happen is noted."""
        if subject in self.ended and self.ended[subject] < when:
            return False
        self.changed.setdefault(subject, []).append(when)
        return True

    def may_end(self, subject: str, when: datetime) -> bool:
        """An order or a cohort ends once, and after every change it had."""
        if subject in self.ended or any(t > when for t in self.changed.get(subject, ())):
            return False
        self.ended[subject] = when
        return True

    def person(self) -> tuple[Person, datetime, str]:
        person = self.draw(st.sampled_from(self.people))
        when = self.when(person.day + 21)  # after the assessment (person_with_referral: day + 20)
        return person, when, self.crn(person.crn, when)

    def group(self) -> tuple[Group, datetime]:
        group = self.draw(st.sampled_from(self.groups))
        return group, self.when(group.day + 1)


# incidents ----------------------------------------------------------------------------------------

def sex_corrected(d: Draft) -> None:
    _, when, crn = d.person()
    d.send(event("person.updated", when, crn=crn, sex=d.draw(st.sampled_from(("FEMALE", "MALE")))))


def availability_changed(d: Draft) -> None:
    person, when, crn = d.person()
    windows = d.draw(st.lists(st.sampled_from(WINDOWS), unique=True, max_size=3))
    offices = d.draw(st.sampled_from(((), (OFFICE,))))
    d.send(event("referral.availability_updated", when, crn=crn, referral_id=person.referral_id,
                 availability=[{"weekday": w, "period": p} for w, p in windows],
                 cannot_attend_offices=list(offices)))


def non_associations_named(d: Draft) -> None:
    person, when, crn = d.person()
    others = d.draw(st.lists(st.sampled_from(d.people), unique=True, max_size=2))
    names = sorted({d.crn(o.crn, when) for o in others} - {crn})
    d.send(event("person.updated", when, crn=crn, non_associations=names))


def order_amended(d: Draft) -> None:
    person, when, crn = d.person()
    end = person.start + timedelta(days=d.draw(st.sampled_from(AMENDED_END_DAYS)))
    if d.may_change(person.crn, when):
        d.send(event("sentence.amended", when, crn=crn, sentence_id=f"S-{person.crn}", expected_end_date=end))


def terminated(d: Draft) -> None:
    person, when, crn = d.person()
    whole = d.draw(st.booleans())
    if not d.may_end(person.crn, when):
        return
    if whole:
        d.send(event("sentence.terminated", when, crn=crn, sentence_id=f"S-{person.crn}",
                     terminated_on=when.date(), reason="REVOKED"))
    else:
        d.send(event("requirement.terminated", when, crn=crn, requirement_id=f"RQ-{person.crn}",
                     terminated_on=when.date(), reason="REVOKED"))


def cohort_confirmed(d: Draft) -> None:
    group, when = d.group()
    staff = d.draw(st.lists(st.sampled_from(d.staff), unique=True, max_size=2))
    members = d.draw(st.lists(st.sampled_from([p.referral_id for p in d.people]), unique=True, max_size=3))
    if d.may_change(group.cohort_id, when):
        d.send(event("cohort.confirmed", when, key="RS", cohort_id=group.cohort_id, facilitator_ids=staff,
                     members=members))


def cohort_cancelled(d: Draft) -> None:
    group, when = d.group()
    if d.may_end(group.cohort_id, when):
        d.send(event("cohort.cancelled", when, key="RS", cohort_id=group.cohort_id, reason="no room"))


def cohort_rescheduled(d: Draft) -> None:
    group, when = d.group()
    day = (when.date() - START).days
    next_plan = min(p for p in PLAN_DAYS if p > day)
    start = START + timedelta(days=next_plan + d.draw(st.sampled_from(FREEZE_OFFSETS)))
    slots = d.draw(st.sampled_from((None, EVENING, DAYTIME)))
    extra = {} if slots is None else {"slots": [{"weekday": w, "start": t, "period": "EVENING" if t >= "17:00"
                                                 else "DAYTIME"} for w, t in slots]}
    if d.may_change(group.cohort_id, when):
        d.send(event("cohort.rescheduled", when, key="RS", cohort_id=group.cohort_id, start_date=start, **extra))


# The corrections that move the facts under a place come twice as often as the rest.
INCIDENTS = (sex_corrected, availability_changed, non_associations_named) * 2 + (
    order_amended, terminated, cohort_confirmed, cohort_cancelled, cohort_rescheduled)


def merges(d: Draft) -> None:
    """0-2 merges, into a known case or into a crn never seen; each crn takes part in one at most."""
    used: set[str] = set()
    for _ in range(d.draw(st.integers(0, 2))):
        free = [p for p in d.people if p.crn not in used]
        if not free:
            return
        source = d.draw(st.sampled_from(free))
        others = [p for p in free if p is not source]
        target = d.draw(st.none() | st.sampled_from(others)) if others else None
        when = d.when(max(source.day, target.day if target else 0) + 21)
        target_crn = target.crn if target else f"X{90 + source.index:06d}"
        used |= {source.crn, target_crn}
        d.merged[source.crn] = (target_crn, when)
        d.send(event("case.merged", when, key=target_crn, source_crn=source.crn, target_crn=target_crn))


# copies -------------------------------------------------------------------------------------------

def copies(d: Draft, conflicts: bool) -> None:
    """The same messages again later; with ``conflicts``, a message with a used id and another payload."""
    originals = list(d.sent)
    for index in d.draw(st.lists(st.integers(0, len(originals) - 1), max_size=3)):
        original = originals[index]
        d.sent.append(Sent(original.line, original.occurred, original.arrives + d.draw(st.sampled_from(LATE))))
    if not conflicts:
        return
    variable = [s for s in originals if _variant(s.body) is not None]
    for original in d.draw(st.lists(st.sampled_from(variable), unique=True, max_size=2)) if variable else ():
        d.send(json.dumps(_variant(original.body)), conflicting=True)


def _variant(body: dict) -> dict | None:
    """The same event id and envelope with another payload, for the event types where one is plausible."""
    p = dict(body["payload"])
    kind = body["event_type"]
    if kind == "person.updated" and "sex" in p:
        p["sex"] = "MALE" if p["sex"] == "FEMALE" else "FEMALE"
    elif kind == "person.updated" and "non_associations" in p:
        other = "X000002" if p["crn"] == "X000001" else "X000001"
        p["non_associations"] = [] if p["non_associations"] else [other]
    elif kind == "sentence.amended":
        p["expected_end_date"] = (date.fromisoformat(p["expected_end_date"]) + timedelta(days=400)).isoformat()
    elif kind == "referral.availability_updated":
        p["availability"] = [] if p["availability"] else [{"weekday": 3, "period": "EVENING"}]
    else:
        return None
    return {**body, "payload": p}


# the strategies -----------------------------------------------------------------------------------

@st.composite
def worlds(draw) -> tuple[tuple[Person, ...], tuple[Group, ...], tuple[str, ...]]:
    staff = tuple(f"F{i}" for i in range(1, draw(st.integers(2, 3)) + 1))
    return draw(people(draw(st.integers(2, 6)))), draw(groups(draw(st.integers(1, 3)))), staff


def world_lines(world, hours: float = 22.0) -> list[str]:
    people_, groups_, staff = world
    staff_lines = [facilitator(f, at(0, 9) + timedelta(minutes=80 + i), hours=hours) for i, f in enumerate(staff)]
    return [line for p in people_ for line in p.lines()] + [g.line() for g in groups_] + staff_lines


@st.composite
def histories(draw, conflicts: bool = True, max_incidents: int = 10) -> History:
    world = draw(worlds())
    d = Draft(draw, world)
    for line in world_lines(world, draw(st.sampled_from((22.0, 7.5)))):
        d.send(line)
    merges(d)
    for _ in range(draw(st.integers(0, max_incidents))):
        draw(st.sampled_from(INCIDENTS))(d)
    copies(d, conflicts)
    return History(tuple(d.sent))


@dataclass(frozen=True)
class Reordering:
    """One history fed twice: a prefix in event order and planned (``split``), then the rest in one batch,
    in event order (``first``) and in a drawn permutation (``second``), planned once at the end."""

    history: History
    split: int | None  # the day of the plan between the prefix and the rest (None: no prefix)
    prefix: tuple[Sent, ...]
    first: tuple[Sent, ...]
    second: tuple[Sent, ...]

    def __repr__(self) -> str:
        show = lambda events: "\n    ".join(e.text(arrival=False) for e in events)  # noqa: E731
        return (f"Reordering(split={self.split}\n  prefix:\n    {show(self.prefix)}\n  first:\n    "
                f"{show(self.first)}\n  second:\n    {show(self.second)})")

    _repr_pretty_ = History._repr_pretty_


@st.composite
def reorderings(draw) -> Reordering:
    history = draw(histories(conflicts=False))
    split = draw(st.sampled_from((None, 35, 49)))
    ordered = history.occurred_order()
    early = lambda e: split is not None and e.occurred < at(split)  # noqa: E731
    prefix, rest = tuple(e for e in ordered if early(e)), tuple(e for e in ordered if not early(e))
    return Reordering(history, split, prefix, rest, tuple(draw(st.permutations(rest))))


EXAMPLES_VAR = "COHORTPLAN_HYPOTHESIS_EXAMPLES"


def generative(examples: int) -> settings:
    """``examples`` in the normal run, where a failing example is reported as found: shrinking a replay with
    a dozen plans takes minutes. The normal run is derandomized (the same examples every time), so the README's
    test command is reproducible and a finding is never a flake that CI meets by chance;
    ``COHORTPLAN_HYPOTHESIS_EXAMPLES=N`` runs N fresh random examples of every test, by hand, and shrinks what
    fails — that is where new findings come from."""
    long_run = os.environ.get(EXAMPLES_VAR)
    return settings(max_examples=int(long_run or examples), deadline=None, derandomize=not long_run,
                    phases=tuple(Phase) if long_run else tuple(p for p in Phase if p != Phase.shrink),
                    suppress_health_check=[HealthCheck.too_slow])
