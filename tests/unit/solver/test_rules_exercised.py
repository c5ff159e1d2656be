"""Every registered hard rule is shown allowing and forbidding by its own test file, on real solves.

The rule tests (``constraints/test_<name>.py``) are run again here while every ``solve_model`` call is
noted: the problem, which registry entries and goals were built, whether variables were pinned, and the
outcome. For each entry of PAIR_RULES, STAFF_RULES and CONSTRAINTS, the solves of its own test file must
include

* an allowing case: the rule built, the model feasible, and some place taken or candidate opened;
* a forbidding case: the rule built, and the same problem with the same other rules and goals solved
  without it giving another outcome (other places, openings or feasibility). An infeasible probe counts
  when the model without the rule is feasible.

Why it fails for a new rule without tests: a new module under ``solver/constraints/`` must be registered
(``test_cpsat_meta`` checks every module is), so it is listed here; with no ``test_<name>.py`` no solve is
noted for it and both cases are missing; a test file that only shows the rule letting people through, or
only solves with the rule built, lacks the forbidding case. ``test_a_rule_without_such_tests_is_reported``
shows the reports on made-up solves, and a registered dummy rule in a copy of the tree fails this module.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from solver.constraints import CONSTRAINTS, PAIR_RULES, STAFF_RULES
from solver.schema import Problem
from tests.support.exercised import Recorder, run_test_files
from tests.unit.solver import factories

RULE_TESTS = Path(__file__).parent / "constraints"
REGISTRIES = {"pair": PAIR_RULES, "staff": STAFF_RULES, "constraints": CONSTRAINTS}
ENTRIES = sorted((registry, name) for registry, rules in REGISTRIES.items() for name in rules)


@dataclass(frozen=True)
class Solve:
    problem: Problem
    entries: frozenset[tuple[str, str]]
    goals: frozenset[str]
    pinned: bool
    status: str
    placed: frozenset = frozenset()
    opened: frozenset = frozenset()

    @property
    def feasible(self) -> bool:
        return self.status in ("OPTIMAL", "FEASIBLE")

    def outcome(self) -> tuple:
        return self.feasible, self.placed, self.opened


def noted(problem, rules, pinned, outcome) -> Solve:
    entries = frozenset((registry, name) for registry in REGISTRIES for name in getattr(rules, registry))
    return Solve(problem, entries, frozenset(rules.objectives), pinned, outcome.status, frozenset(outcome.placed),
                 frozenset(outcome.opened.items()) if outcome.feasible else frozenset())


def allows(entry, solves: Iterable[Solve]) -> bool:
    return any(entry in s.entries and s.feasible and (s.placed or s.opened) for s in solves)


def forbids(entry, solves: list[Solve]) -> bool:
    def without(s: Solve) -> list[Solve]:
        return [w for w in solves if not w.pinned and w.entries == s.entries - {entry}
                and w.goals == s.goals and w.problem == s.problem]
    return any(w.outcome() != s.outcome() for s in solves if entry in s.entries and not s.pinned for w in without(s))


def gaps(entries: Iterable[tuple[str, str]], by_file: Mapping[str, list[Solve]]) -> list[str]:
    out = []
    for registry, name in entries:
        solves = by_file.get(f"test_{name}.py", [])
        if not allows((registry, name), solves):
            out.append(f"{registry} {name}: no test in test_{name}.py where it lets a place or an opening through")
        if not forbids((registry, name), solves):
            out.append(f"{registry} {name}: no test in test_{name}.py where it changes the outcome of the same "
                       "problem solved without it")
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[int, dict[str, list[Solve]]]:
    recorder = Recorder()
    factories.SOLVE_OBSERVERS.append(lambda *solve: recorder.note(noted(*solve)))
    try:
        files = [RULE_TESTS / f"test_{name}.py" for _, name in ENTRIES]
        code = run_test_files({f for f in files if f.is_file()}, recorder, tmp_path_factory.mktemp("rule_tests"))
    finally:
        factories.SOLVE_OBSERVERS.clear()
    return code, recorder.by_file


def test_the_rule_tests_pass_when_run_for_the_record(recorded):
    assert recorded[0] == 0


def test_every_hard_rule_is_shown_allowing_a_place_and_forbidding_one_by_its_own_tests(recorded):
    assert gaps(ENTRIES, recorded[1]) == []


def test_a_rule_without_such_tests_is_reported():
    problem, entry = factories.tiny_problem(), ("constraints", "new_rule")
    with_rule = Solve(problem, frozenset({entry}), frozenset({"most_places"}), False, "OPTIMAL",
                      frozenset({("R1", "C1")}))
    same_without = Solve(problem, frozenset(), frozenset({"most_places"}), False, "OPTIMAL", frozenset({("R1", "C1")}))
    other_without = Solve(problem, frozenset(), frozenset({"most_places"}), False, "OPTIMAL",
                          frozenset({("R1", "C1"), ("R1", "C2")}))
    assert len(gaps([entry], {})) == 2
    assert gaps([entry], {"test_new_rule.py": [with_rule, same_without]}) == [
        "constraints new_rule: no test in test_new_rule.py where it changes the outcome of the same problem "
        "solved without it"]
    assert gaps([entry], {"test_new_rule.py": [with_rule, other_without]}) == []
    assert len(gaps([entry], {"test_other.py": [with_rule, other_without]})) == 2  # another rule's file
