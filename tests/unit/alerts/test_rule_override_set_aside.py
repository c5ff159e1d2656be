"""override.set_aside: the last plan set aside planner overrides it could not honour safely."""
from __future__ import annotations

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import override_set_aside as rule
from tests.unit.alerts.factories import REGION, TODAY, active, inputs, only, thresholds

ASIDE = {"ov-000002": ["non-association: X001 and X002, who is on C1 too"]}


def evaluate(found=None, **kw):
    return rule.evaluate(inputs(overrides_set_aside=found or {}, **kw), thresholds())


def test_warns_naming_each_override_set_aside_and_why():
    alert = only(evaluate(ASIDE))
    assert alert.kind == "override.set_aside" == rule.KIND and rule.SCOPE == "region"
    assert alert.severity is Severity.WARNING
    assert (alert.subject_type, alert.subject_id, alert.key, alert.act_by) == ("region", REGION, REGION, TODAY)
    assert "ov-000002: non-association: X001 and X002, who is on C1 too" in alert.reason
    assert dict(alert.numbers) == {"overrides": "ov-000002"}


def test_quiet_when_the_last_plan_honoured_every_override():
    assert evaluate(None) == [] and evaluate({}) == []


def test_updated_when_another_override_is_set_aside_and_cleared_when_none_is():
    open_ = active(only(evaluate(ASIDE)))
    more = reconcile(evaluate(ASIDE | {"ov-000003": ["C2 is full"]}), open_)
    assert [now.numbers["overrides"] for now, _ in more.updated] == ["ov-000002, ov-000003"]
    changes = reconcile(evaluate(None), open_)
    assert [row["alert_id"] for row in changes.cleared] == [f"override.set_aside:region:{REGION}"]
    assert rule.cleared(changes.cleared[0], inputs()) == "the last plan honoured every planner override in force"
