"""Every alert rule is shown raising, going quiet and clearing by its own test file, on real calls.

The rule tests (``test_rule_<name>.py``) are run again here with each rule module's ``evaluate`` and
``cleared`` wrapped, noting every call by the test file that made it (the sweep calls them through the
module too, so tests on a real engine count). For each module of ``engine/alerts/rules/`` its own file must

* raise: ``evaluate`` returns an alert of the rule's KIND;
* go quiet: ``evaluate`` returns no alert of its KIND (the condition absent or ended);
* clear: ``cleared`` is given a stored alert of its KIND and says why (a rule without ``cleared``, which the
  sweep allows, needs only the quiet case).

Why it fails for a new rule without tests: every module under ``engine/alerts/rules/`` must be registered in
RULES (checked below), so it is listed here; with no ``test_rule_<name>.py`` nothing is noted for it and all
three cases are missing; a test file that only raises, or never asks ``cleared`` why, lacks the rest.
``test_a_rule_without_such_tests_is_reported`` shows the reports on made-up calls, and an unregistered or
untested dummy rule in a copy of the tree fails this module.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType

import pytest

import engine.alerts.rules
from engine.alerts.rules import RULES
from tests.support.exercised import Recorder, run_test_files

HERE = Path(__file__).parent


def name_of(rule: ModuleType) -> str:
    return rule.__name__.rsplit(".", 1)[-1]


def evaluating(rule: ModuleType, recorder: Recorder):
    @functools.wraps(rule.evaluate)
    def evaluate(*args, **kwargs):
        alerts = rule.__wrapped_evaluate__(*args, **kwargs)
        recorder.note(("raised" if any(a.kind == rule.KIND for a in alerts) else "quiet", rule.KIND))
        return alerts
    return evaluate


def clearing(rule: ModuleType, recorder: Recorder):
    @functools.wraps(rule.cleared)
    def cleared(row, *args, **kwargs):
        reason = rule.__wrapped_cleared__(row, *args, **kwargs)
        if row.get("kind") == rule.KIND and reason:
            recorder.note(("cleared", rule.KIND))
        return reason
    return cleared


def gaps(rules: Iterable[ModuleType], by_file: Mapping[str, list]) -> list[str]:
    out = []
    for rule in rules:
        test_file = f"test_rule_{name_of(rule)}.py"
        done = {what for what, kind in by_file.get(test_file, []) if kind == rule.KIND}
        wanted = ("raised", "quiet", "cleared") if hasattr(rule, "cleared") else ("raised", "quiet")
        out += [f"{rule.KIND}: no test in {test_file} where it is {what}" for what in wanted if what not in done]
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[int, dict[str, list]]:
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as patch:
        for rule in RULES:
            patch.setattr(rule, "__wrapped_evaluate__", rule.evaluate, raising=False)
            patch.setattr(rule, "evaluate", evaluating(rule, recorder))
            if hasattr(rule, "cleared"):
                patch.setattr(rule, "__wrapped_cleared__", rule.cleared, raising=False)
                patch.setattr(rule, "cleared", clearing(rule, recorder))
        files = {HERE / f"test_rule_{name_of(rule)}.py" for rule in RULES}
        code = run_test_files({f for f in files if f.is_file()}, recorder, tmp_path_factory.mktemp("alert_rule_tests"))
    return code, recorder.by_file


def test_every_rule_module_is_registered():
    modules = {p.stem for p in Path(engine.alerts.rules.__file__).parent.glob("*.py")} - {"__init__"}
    assert modules == {name_of(rule) for rule in RULES}


def test_the_rule_tests_pass_when_run_for_the_record(recorded):
    assert recorded[0] == 0


def test_every_alert_rule_is_shown_raising_going_quiet_and_clearing_by_its_own_tests(recorded):
    assert gaps(RULES, recorded[1]) == []


def test_a_rule_without_such_tests_is_reported():
    new_rule = ModuleType("engine.alerts.rules.new_rule")
    new_rule.KIND, new_rule.cleared = "new.rule", lambda row, inputs: "gone"
    raised_only = {"test_rule_new_rule.py": [("raised", "new.rule"), ("quiet", "other.rule")]}
    assert gaps([new_rule], {}) == [f"new.rule: no test in test_rule_new_rule.py where it is {what}"
                                    for what in ("raised", "quiet", "cleared")]
    assert gaps([new_rule], raised_only) == [f"new.rule: no test in test_rule_new_rule.py where it is {what}"
                                             for what in ("quiet", "cleared")]
    del new_rule.cleared
    assert gaps([new_rule], {"test_rule_new_rule.py": [("raised", "new.rule"), ("quiet", "new.rule")]}) == []
