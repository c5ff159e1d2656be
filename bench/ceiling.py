"""The ceiling of the closed-loop measure, and why each allocator's misses were missed (issue 14, part 1).

For a replayed region (its database and its event file) this builds the relaxation of
:mod:`solver.ceiling` from everything the stream says, known from day one:

- who counts: the measure's own definition (:func:`engine.services.metrics.counted`); those who attended a
  first session on a cohort the delivery team ran are started whatever the plan, and count as such;
- when each person could start: from the first day they waited for a place (their first
  ``AWAITING_ALLOCATION``), to the last start that still counts — before the order ended, by the end of
  the window, and early enough to finish on the fastest usual weekly pattern by the **latest deadline the
  stream ever gave them** (so a deadline shortened later cannot hide a start a planner made in good faith);
- which groups they may join: programme, pathway, offence cohort, LDC variant and sex group (no group
  mixes them); a mixed-sex type exists only where a cohort of that sex was ever defined or would be opened;
- facilitator hours: each facilitator from the week they were registered to the week they left, at the
  most hours a week they ever had, for every programme they were ever trained in (absences ignored);
  a group uses at least its group sessions plus preparation, for each of its facilitators; the weeks a
  group runs are bounded above by the longest group of its programme in the database, and the slowest
  usual pattern, plus two weeks.

A type's groups may open only in weeks in which at least the programme's minimum of its people could have
been placed (its hard minimum when the run's grid opens rare variants there, ``hard_minimum``).

Every simplification makes the relaxed problem easier, so its optimum (or CP-SAT's proven bound when the
time limit stops it) is an upper bound: no allocator, however clairvoyant, starts more people in time.

Each person an allocator missed gets one cause, in this order: **not ready in time** (never waited for a
place, or only after the last start that could count — no plan can), **no trained facilitator** (nobody
trained in the programme was registered between their first and last possible start), **availability**
(no cohort of their programme in the database ran on slots they can attend: the usual patterns need other
days or times), else **capacity used by others** (a plan could have started them — at the price of someone
else, or of more facilitator hours).

Run by hand on the databases the closed-loop bench keeps (``--keep``), or import :func:`measure`.
"""
from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from engine.bootstrap import bootstrap
from engine.domain.calendar import schedule_sessions, weeks_spanned
from engine.domain.deadlines import PATTERNS, latest_start_any
from engine.domain.placement import SEX_GROUPS
from engine.domain.policies import deadline as deadline_of
from engine.domain.statuses import ReferralStatus
from engine.services import metrics
from engine.settings import EngineSettings
from solver.ceiling import CapacityWindow, CeilingDemand, CeilingResult, CeilingType, ceiling

CAUSES = ("not ready in time", "no trained facilitator", "no group of their kind could fill", "availability",
          "capacity used by others")
WINDOW_WEEKS = (13, 26, 52, 78)
WINDOW_STEP = 4


PERIODS = ("DAYTIME", "EVENING")


@dataclass
class Trainer:
    registered: date
    hours: float
    programmes: set[str]
    periods: set[str]  # the periods they ever said they work (all when they never said)
    left: date | None = None


@dataclass
class StreamFacts:
    """What the event file says, whatever the order it arrived in: the widest deadlines and the staff."""

    requirement_end: dict[str, date | None] = field(default_factory=dict)  # None: no end of its own
    requirement_sentence: dict[str, str] = field(default_factory=dict)
    sentence_end: dict[str, date] = field(default_factory=dict)            # the latest ever given
    trainers: dict[str, Trainer] = field(default_factory=dict)
    periods: dict[str, list[tuple[date, set[str]]]] = field(default_factory=dict)  # crn → (from, periods) said
    sexes: dict[str, set[str]] = field(default_factory=dict)    # crn → every sex ever recorded
    merged: dict[str, str] = field(default_factory=dict)        # crn → the crn it was merged into

    def person_periods(self, crn: str, until: date) -> set[str]:
        """Every period the person (or a case merged into theirs) was available in at some time up to
        ``until`` (a place must be lawful when it is made, before it starts); all if nothing was said."""
        crns = {crn} | {old for old, new in self.merged.items() if new == crn}
        said = [periods for c in crns for at, periods in self.periods.get(c, ()) if at <= until]
        return set().union(*said) if said else set(PERIODS)

    def person_sexes(self, crn: str, now: str | None) -> set[str]:
        crns = {crn} | {old for old, new in self.merged.items() if new == crn}
        return set().union(*(self.sexes.get(c, set()) for c in crns)) | ({now} if now else set())

    def latest_deadline(self, requirement_id: str) -> date | None:
        sentence = self.requirement_sentence.get(requirement_id)
        if sentence is None or sentence not in self.sentence_end:
            return None
        return deadline_of(self.requirement_end.get(requirement_id), self.sentence_end[sentence])


def read_facts(events: Path) -> StreamFacts:
    facts = StreamFacts()
    for line in events.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
            kind, p = event["event_type"], event["payload"]
            at = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00")).date()
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # the replay dead-letters it; it holds no fact
        if kind in ("sentence.imposed", "sentence.amended"):
            end = date.fromisoformat(p["expected_end_date"])
            facts.sentence_end[p["sentence_id"]] = max(end, facts.sentence_end.get(p["sentence_id"], end))
        elif kind == "requirement.created":
            rid = p["requirement_id"]
            end = date.fromisoformat(p["end_date"]) if p.get("end_date") else None
            before = facts.requirement_end.get(rid, end)
            facts.requirement_end[rid] = None if end is None or before is None else max(end, before)
            facts.requirement_sentence[rid] = p["sentence_id"]
        elif kind == "person.updated" and p.get("sex"):
            facts.sexes.setdefault(p["crn"], set()).add(p["sex"])
        elif kind in ("person.updated", "referral.availability_updated") and p.get("availability") is not None:
            said = {slot["period"] for slot in p["availability"]} or set(PERIODS)
            facts.periods.setdefault(p["crn"], []).append((at, said))
        elif kind == "case.merged":
            facts.merged[p["source_crn"]] = p["target_crn"]
        elif kind == "facilitator.registered":
            old = facts.trainers.get(p["facilitator_id"])
            periods = {slot["period"] for slot in p.get("availability") or ()} or set(PERIODS)
            facts.trainers[p["facilitator_id"]] = Trainer(
                min(at, old.registered) if old else at, max(p["weekly_hours"], old.hours if old else 0),
                set(p["programmes"]) | (old.programmes if old else set()), periods | (old.periods if old else set()))
        elif kind == "facilitator.updated" and p["facilitator_id"] in facts.trainers:
            trainer = facts.trainers[p["facilitator_id"]]
            trainer.hours = max(trainer.hours, p.get("weekly_hours") or 0)
            trainer.programmes |= set(p.get("programmes") or ())
            if p.get("availability") is not None:
                trainer.periods |= {slot["period"] for slot in p["availability"]} or set(PERIODS)
        elif kind == "facilitator.left" and p["facilitator_id"] in facts.trainers:
            trainer = facts.trainers[p["facilitator_id"]]
            left = date.fromisoformat(p["left_on"])
            trainer.left = max(left, trainer.left) if trainer.left else left
    return facts


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class Measured:
    ended: int
    started: int
    fixed: int                       # started on the delivery team's cohorts, whatever the plan
    ceiling: CeilingResult
    causes: dict[str, int]           # the allocator's misses by cause
    cause_of: dict[str, str]         # referral id → cause, for every counted referral a plan could not start
    by_group: dict[str, dict[str, tuple[int, int, int]]] = field(default_factory=dict)  # group → value → (ended, started, ceiling-started)

    @property
    def ceiling_started(self) -> int:
        return self.fixed + self.ceiling.bound

    def row(self) -> dict:
        return {"ended": self.ended, "started": self.started, "share": round(self.started / max(1, self.ended), 4),
                "ceiling": self.ceiling_started, "ceiling_share": round(self.ceiling_started / max(1, self.ended), 4),
                "of_ceiling": round(self.started / max(1, self.ceiling_started), 4),
                "ceiling_optimal": self.ceiling.optimal, "ceiling_found": self.fixed + self.ceiling.found,
                "ceiling_seconds": round(self.ceiling.seconds, 1),
                **{f"missed: {c}": self.causes.get(c, 0) for c in CAUSES}}


@dataclass
class Region:
    """What one replayed database says about the people, their groups and the calendar."""

    rows: list[dict]
    referrals: dict
    people: dict
    sexes: set[str]
    slot_sets: dict[str, list[frozenset]]
    longest: dict[str, int]
    everyone: list = field(default_factory=list)  # every referral in the database: who could fill a group


def measure(database_url: str, events: Path, window_start: date, as_of: date, time_limit_s: float = 60.0,
            facts: StreamFacts | None = None, hard_minimum: bool = False) -> dict[str, Measured]:
    """The ceiling of one replayed run and the causes of its misses, for two populations: ``measure`` (the
    closed loop's own: orders ended in the window) and ``caseload`` (everyone referred in the window and not
    terminated early, their starts counted up to ``as_of``: the people the same hours had to serve)."""
    engine = bootstrap(EngineSettings(database_url=database_url), run_migrations=False)
    facts = facts or read_facts(events)
    outcomes = engine.queries().requirement_outcomes(as_of)
    t0 = _monday(window_start)
    populations = {"measure": [r for r in outcomes if metrics.counted(r, window_start, as_of)],
                   "caseload": [r for r in outcomes if metrics.counted(r, window_start, date.max)]}
    with engine.database.uow() as uow:
        everyone = uow.referrals.where(referral_id=sorted({r["referral_id"] for r in outcomes}))
        referrals = {r.referral_id: r for r in everyone}
        people = {p.crn: p for p in uow.people.where(crn=sorted({r.crn for r in everyone}))}
        cohorts = uow.cohorts.where(region_code=sorted({p.region_code for p in people.values()}))
    slot_sets: dict[str, list[frozenset]] = defaultdict(list)
    longest: dict[str, int] = defaultdict(int)
    for c in cohorts:
        slot_sets[c.programme_code].append(frozenset((s.weekday, s.period) for s in c.slots))
        longest[c.programme_code] = max(longest[c.programme_code], (_monday(c.end_date) - _monday(c.start_date)).days // 7)
    deadlines = {r["referral_id"]: _day(r["deadline"]) for r in outcomes}
    out = {}
    for name, rows in populations.items():
        region = Region(rows, referrals, people, {c.sex for c in cohorts}, slot_sets, longest, everyone)
        out[name] = _measure(engine, region, facts, deadlines, t0, as_of, time_limit_s, hard_minimum)
    engine.database.dispose()
    return out


@dataclass(frozen=True)
class Window:
    """When one person could start (first and last day) and the groups they could join then."""

    ready: date | None
    last: date | None
    kinds: tuple[str, ...] = ()


def _window(engine, region: Region, facts: StreamFacts, referral, ended_on: date | None, cap: date, t0: date,
            types: dict[str, CeilingType]) -> Window:
    rules, margin = engine.rules, engine.settings.deadline_margin_days
    programme = rules.catalogue.get(referral.programme_code)
    ready = next((h.at.date() for h in referral.history if h.to_status == ReferralStatus.AWAITING_ALLOCATION), None)
    widest = max(filter(None, [facts.latest_deadline(referral.requirement_id), ended_on]), default=None)
    finish = latest_start_any(rules.catalogue, programme.code, widest, margin, rules.is_holiday) if widest else None
    last = min(filter(None, [ended_on, cap, finish])) if finish else None
    if ready is None or last is None or ready > last:
        return Window(ready, None)
    person = region.people.get(referral.crn)
    recorded = facts.person_sexes(referral.crn, person.sex if person else None)
    cohort_sexes = set()
    for sex in recorded or {""}:
        own = sex if sex in ("MALE", "FEMALE") else "MIXED"
        cohort_sexes |= {s for s in SEX_GROUPS.get(sex, frozenset({"MIXED"})) if s == own or s in region.sexes}
    span = _span(programme, region.longest[programme.code], rules.is_holiday, t0)
    hours = programme.facilitators_per_group * _group_hours(programme)
    kinds = []
    for sex in sorted(cohort_sexes):
        for period in sorted(facts.person_periods(referral.crn, last)):
            type_id = f"{programme.code}|{referral.pathway}|{referral.offence_cohort}|{referral.ldc}|{sex}|{period}"
            types.setdefault(type_id, CeilingType(type_id, programme.code, programme.max_size, hours, span, period))
            kinds.append(type_id)
    return Window(ready, last, tuple(kinds))


def _measure(engine, region: Region, facts: StreamFacts, deadlines: dict[str, date], t0: date, as_of: date,
             time_limit_s: float, hard_minimum: bool = False) -> Measured:
    rules = engine.rules

    def week(day: date) -> int:
        return (_monday(day) - t0).days // 7

    horizon = week(as_of) + 1
    types: dict[str, CeilingType] = {}
    # Who could be placed in a group of each type in each week (to make up its minimum when it opens).
    support: dict[tuple[str, int], int] = defaultdict(int)
    for referral in region.everyone:
        window = _window(engine, region, facts, referral, None, as_of, t0, types)
        if window.last is not None:
            for k in window.kinds:
                for w in range(max(0, week(window.ready)), min(horizon, week(window.last)) + 1):
                    support[(k, w)] += 1
    for k, kind in list(types.items()):
        programme = rules.catalogue.get(kind.programme_code)
        minimum = programme.hard_min_size if hard_minimum else programme.min_size
        types[k] = dataclasses.replace(kind, open_weeks=frozenset(
            w for w in range(horizon) if support[(k, w)] >= minimum))

    demands, cause_of, fixed = [], {}, 0
    for row in region.rows:
        if row["ever_on_programme"]:
            fixed += 1
            continue
        referral = region.referrals[row["referral_id"]]
        person = region.people.get(referral.crn)
        programme = rules.catalogue.get(referral.programme_code)
        window = _window(engine, region, facts, referral, deadlines[referral.referral_id], as_of, t0, types)
        weeks = range(max(0, week(window.ready)), min(horizon, week(window.last)) + 1) if window.last else range(0)
        span = types[window.kinds[0]].span_weeks if window.kinds else 0
        trained = window.last is not None and any(
            programme.code in t.programmes and t.registered <= window.last + timedelta(weeks=span)
            and (t.left is None or t.left >= window.ready) for t in facts.trainers.values())
        can_attend = person is None or not person.availability or any(
            slots <= person.availability for slots in region.slot_sets[programme.code])
        if window.last is None:
            cause_of[referral.referral_id] = CAUSES[0]
        elif not trained:
            cause_of[referral.referral_id] = CAUSES[1]
        elif not any(w in types[k].open_weeks for k in window.kinds for w in weeks):
            cause_of[referral.referral_id] = CAUSES[2]
        elif not can_attend:
            cause_of[referral.referral_id] = CAUSES[3]
        else:
            cause_of[referral.referral_id] = CAUSES[4]
            demands.append(CeilingDemand(referral.referral_id, window.kinds, tuple(weeks)))

    windows = _windows(facts, t0, horizon + max((t.span_weeks for t in types.values()), default=0), week)
    result = ceiling(demands, types.values(), windows, time_limit_s=time_limit_s)
    missed = {r["referral_id"] for r in region.rows if not metrics.started_in_time(r, as_of)}
    causes: dict[str, int] = defaultdict(int)
    for rid in missed:
        causes[cause_of.get(rid, CAUSES[4])] += 1
    started = sum(metrics.started_in_time(r, as_of) for r in region.rows)
    measured = Measured(len(region.rows), started, fixed, result, dict(causes), cause_of)
    measured.by_group = _by_group(region.rows, region.referrals, region.people, result.started, as_of)
    return measured


def _group_hours(programme) -> float:
    """One facilitator's hours for one group: every group session and its preparation (a lower bound on
    what the planner books, which counts the usual sessions of every week the group runs)."""
    group = [t for t in programme.sessions if t.is_group]
    return sum(t.count * (t.minutes + programme.prep_minutes_per_group_session) for t in group) / 60


_SPANS: dict[tuple, int] = {}


def _span(programme, longest_in_db: int, is_holiday, t0: date) -> int:
    """Weeks a group of the programme may run (an upper bound): the longest in the database, and the slowest
    usual pattern of any period, from start dates over two years, plus two weeks."""
    key = (programme.code, longest_in_db, t0)
    if key not in _SPANS:
        spans = [weeks_spanned(s.on for s in schedule_sessions(programme, slots, t0 + timedelta(weeks=w), is_holiday)
                               if s.is_group)
                 for cadence, (_, slots) in PATTERNS.items() if cadence in programme.cadences
                 for w in range(0, 104, 13)]
        _SPANS[key] = max([longest_in_db, *spans]) + 2
    return _SPANS[key]


def _windows(facts: StreamFacts, t0: date, weeks: int, week) -> list[CapacityWindow]:
    """Facilitator hours per window of weeks: for all programmes and each on its own, for any period and
    for the staff who work daytimes or evenings (a trainer who works both counts in both)."""
    weekly: dict[tuple[str | None, str | None], list[float]] = defaultdict(lambda: [0.0] * weeks)
    for trainer in facts.trainers.values():
        first = max(0, week(trainer.registered))
        end = weeks if trainer.left is None else min(weeks, week(trainer.left) + 1)
        for code in (None, *trainer.programmes):
            for period in (None, *trainer.periods):
                hours = weekly[(code, period)]
                for w in range(first, end):
                    hours[w] += trainer.hours
    out = []
    for length in (*WINDOW_WEEKS, weeks):
        for start in range(0, max(1, weeks - length + 1), WINDOW_STEP):
            end = min(weeks, start + length)
            for (code, period), hours in weekly.items():
                out.append(CapacityWindow(start, end, sum(hours[start:end]),
                                          None if code is None else frozenset({code}), period))
    return out


def _by_group(rows, referrals, people, ceiling_started, as_of) -> dict[str, dict[str, tuple[int, int, int]]]:
    """Per group (sex, LDC, PDU): ended, started, and started in the best clairvoyant assignment found (a
    witness of what was possible together — not a bound per group)."""
    out: dict[str, dict[str, list[int]]] = {"sex": {}, "ldc": {}, "pdu": {}}
    for row in rows:
        referral = referrals[row["referral_id"]]
        person = people.get(referral.crn)
        keys = {"sex": person.sex if person else "?", "ldc": "LDC" if referral.ldc else "not LDC",
                "pdu": person.pdu_code if person else "?"}
        for group, value in keys.items():
            cell = out[group].setdefault(value, [0, 0, 0])
            cell[0] += 1
            cell[1] += metrics.started_in_time(row, as_of)
            cell[2] += row["ever_on_programme"] or row["referral_id"] in ceiling_started
    return {g: {v: tuple(c) for v, c in values.items()} for g, values in out.items()}
