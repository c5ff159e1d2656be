"""Every registered hard rule and soft goal has its own test file, and says what it is in its docstrings."""
from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

import solver.constraints
from solver.build import Build
from solver.constraints import CONSTRAINTS, PAIR_RULES, STAFF_RULES
from solver.objectives import OBJECTIVES
from tests.unit.solver.factories import make_problem

HERE = Path(__file__).parent
RULE_TESTS, GOAL_TESTS = HERE / "constraints", HERE / "objectives"
RULES = {**PAIR_RULES, **STAFF_RULES, **CONSTRAINTS}  # non_associations: one module, two entries
KIND = re.compile(r"^(?P<kind>Hard|Soft)(?: \((?P<note>[^)]*)\))?: \S")  # "Soft (tier 4): …" names its tier


def missing_test_files(names: Iterable[str], folder: Path) -> list[str]:
    return sorted(name for name in set(names) if not (folder / f"test_{name}.py").is_file())


def first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if (doc or "").strip() else ""


def docstring_faults(functions: Mapping[str, Callable], kind: str) -> list[str]:
    """Each function's docstring and its module's must open with ``<kind>:`` (or ``<kind> (note):``)."""
    faults = []
    for name, fn in sorted(functions.items()):
        module = sys.modules[fn.__module__]
        for what, doc in ((f"module {module.__name__}", module.__doc__), (f"function {fn.__qualname__}", fn.__doc__)):
            match = KIND.match(first_line(doc))
            if match is None or match["kind"] != kind:
                faults.append(f"{name}: {what} docstring should open with '{kind}:', not {first_line(doc)!r}")
    return faults


def test_every_registered_rule_has_its_test_file():
    assert missing_test_files(RULES, RULE_TESTS) == []


def test_every_registered_goal_has_its_test_file():
    assert missing_test_files(OBJECTIVES, GOAL_TESTS) == []


def test_a_rule_without_a_test_file_is_reported():
    assert missing_test_files([*RULES, "no_such_rule"], RULE_TESTS) == ["no_such_rule"]
    assert missing_test_files(["programme"], GOAL_TESTS) == ["programme"]


def test_every_rule_and_its_module_say_hard_first():
    assert docstring_faults(RULES, "Hard") == []


def test_every_goal_and_its_module_say_soft_first():
    assert docstring_faults(OBJECTIVES, "Soft") == []


def undocumented(build) -> None:
    pass


def adds_something(build) -> None:
    """Adds the rule."""


def test_a_missing_or_unlabelled_docstring_is_reported():
    faults = docstring_faults({"undocumented": undocumented, "adds_something": adds_something}, "Hard")
    assert len(faults) == 4  # this test module's docstring fails twice, each function once
    assert docstring_faults({"travel": OBJECTIVES["travel"]}, "Hard") != []


def test_every_rule_lives_in_the_module_named_after_it_and_every_module_is_registered():
    assert {name: fn.__module__ for name, fn in RULES.items()} == {
        name: f"solver.constraints.{name}" for name in RULES}
    modules = {path.stem for path in Path(solver.constraints.__file__).parent.glob("*.py")} - {"__init__"}
    assert modules == set(RULES)


def test_every_goal_lives_in_the_module_named_after_it():
    assert {name: fn.__module__ for name, fn in OBJECTIVES.items()} == {
        name: f"solver.objectives.{name}" for name in OBJECTIVES}


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_each_goal_scores_in_the_tier_its_module_docstring_names(name):
    term = OBJECTIVES[name](Build(make_problem()))
    note = KIND.match(first_line(inspect.getmodule(OBJECTIVES[name]).__doc__))["note"]
    assert (term.name, note) == (name, f"tier {term.tier}")
