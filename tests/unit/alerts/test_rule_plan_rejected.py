"""plan.rejected: the last plan of the region broke an invariant and was not published (the gate)."""
from __future__ import annotations

from engine.alerts.lifecycle import reconcile
from engine.alerts.model import Severity
from engine.alerts.rules import plan_rejected as rule
from tests.unit.alerts.factories import REGION, TODAY, active, inputs, only, thresholds


def violation(rule_: str = "non-association", subject: str = "REF-X000100", detail: str = "names X000000"):
    return {"rule": rule_, "subject": subject, "detail": detail}


def rejection(*violations, count: int | None = None, as_of: str = "2025-03-03", allocator: str = "cpsat"):
    found = list(violations) or [violation()]
    return {"as_of": as_of, "allocator": allocator, "violations": found,
            "count": len(found) if count is None else count}


def evaluate(found=None, **kw):
    return rule.evaluate(inputs(plan_rejection=found, **kw), thresholds())


def test_raises_a_critical_naming_the_rules_and_the_ids():
    alert = only(evaluate(rejection(violation(), violation("sex", "REF-X000003", "FEMALE in a MALE group"))))
    assert alert.kind == "plan.rejected" == rule.KIND and rule.SCOPE == "region"
    assert alert.severity is Severity.CRITICAL
    assert (alert.subject_type, alert.subject_id, alert.region_code) == ("region", REGION, REGION)
    assert (alert.key, alert.act_by, alert.pdu_code) == (REGION, TODAY, None)
    assert dict(alert.numbers) == {"as_of": "2025-03-03", "count": 2, "rules": "non-association,sex"}
    assert alert.reason == (
        "the cpsat plan as of 2025-03-03 was not published: 2 invariant violation(s), the previous plan stands: "
        "non-association [REF-X000100]: names X000000; sex [REF-X000003]: FEMALE in a MALE group")


def test_shows_five_violations_but_counts_and_names_the_rules_of_all():
    found = [violation("max-size", f"C{k}", f"{k} too many") for k in range(6)] + [violation("ldc", "REF-9", "x")]
    alert = only(evaluate(rejection(*found, count=60)))  # the gate keeps 50 of 60
    assert alert.numbers == {"as_of": "2025-03-03", "count": 60, "rules": "ldc,max-size"}
    assert "60 invariant violation(s)" in alert.reason
    assert "max-size [C4]: 4 too many" in alert.reason
    assert "[C5]" not in alert.reason and "[REF-9]" not in alert.reason


def test_quiet_when_the_last_plan_passed():
    assert evaluate(None) == []
    assert evaluate({}) == []


def test_does_not_repeat_updates_on_a_new_rejection_and_clears_when_a_plan_passes():
    alert = only(evaluate(rejection()))
    open_ = active(alert)
    assert not reconcile(evaluate(rejection()), open_)
    assert not reconcile(evaluate(rejection(), today=TODAY.replace(day=4)), open_)

    [(now, before)] = reconcile(evaluate(rejection(as_of="2025-03-04")), open_).updated
    assert before["numbers"]["as_of"] == "2025-03-03" and now.numbers["as_of"] == "2025-03-04"
    assert now.alert_id == alert.alert_id == f"plan.rejected:region:{REGION}"

    changes = reconcile(evaluate(None), open_)
    assert changes.raised == [] and changes.updated == []
    assert [row["alert_id"] for row in changes.cleared] == [alert.alert_id]
    assert rule.cleared(changes.cleared[0], inputs()) == "a later plan passed every invariant and was published"
