"""plan.fell_back: the region's last published plan is current practice's because the solve fell back."""
from __future__ import annotations

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import plan_fell_back as rule
from tests.unit.alerts.factories import REGION, TODAY, active, inputs, only, thresholds


def fallback(as_of: str = "2025-03-03", since: str = "2025-03-03", note: str = "no solution within the time limit"):
    return {"plan_version": 7, "as_of": as_of, "since": since, "allocator": "cpsat", "note": note, "seconds": 1.02}


def evaluate(found=None, **kw):
    return rule.evaluate(inputs(plan_fallback=found, **kw), thresholds())


def test_warns_with_the_reason_the_time_it_had_and_what_to_do():
    alert = only(evaluate(fallback()))
    assert alert.kind == "plan.fell_back" == rule.KIND and rule.SCOPE == "region"
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.region_code, alert.key, alert.act_by) == (
        "region", REGION, REGION, REGION, TODAY)
    assert alert.reason == (
        "plan 7 as of 2025-03-03 is current practice's: the cpsat solve fell back (no solution within the time "
        "limit) after 1.02 s, every plan since 2025-03-03; if it happens every week, unset "
        "COHORTPLAN_SOLVER_TIME_LIMIT_S (sized to the region) or raise it")
    assert dict(alert.numbers) == {"since": "2025-03-03"}


def test_quiet_when_the_last_plan_was_the_solvers_own():
    assert evaluate(None) == [] and evaluate({}) == []


def test_one_alert_while_plans_keep_falling_back_and_cleared_by_a_plan_of_its_own():
    open_ = active(only(evaluate(fallback())))
    assert not reconcile(evaluate(fallback(as_of="2025-03-10")), open_)  # the next week: still the same alert
    changes = reconcile(evaluate(None), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == [f"plan.fell_back:region:{REGION}"]
    assert rule.cleared(changes.cleared[0], inputs()) == "a later plan was the solver's own"
