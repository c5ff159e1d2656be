"""engine/services/overrides.py without HTTP: what a plan reads (a hold ends on its day, a removed override binds
nothing), which requests are malformed, and which contradict an override in force."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine.persistence.memory import MemoryStore
from engine.services import overrides as ov
from solver.schema import OverrideKind as K
from tests.unit.solver.factories import make_cohort, make_demand

AS_OF = date(2025, 3, 10)
AT = datetime(2025, 3, 10, 9, tzinfo=timezone.utc)


def row(number: int, kind: str, referral_id=None, cohort_id=None, until=None, **extra) -> dict:
    return dict(override_id=f"ov-{number:06d}", region_code="RS", kind=kind, referral_id=referral_id,
                cohort_id=cohort_id, until=until, reason="why", created_by="planner.user-1", created_at=AT,
                event_id=f"e-{number}", removed_by=None, removed_at=None) | extra


def test_a_plan_reads_the_overrides_in_force_on_its_demands_and_cohorts_and_a_hold_ends_on_its_day():
    store = MemoryStore()
    with store.uow() as uow:
        uow.add_override(row(1, "keep", "R1", "C1"))
        uow.add_override(row(2, "hold", "R2", until=AS_OF))                    # ends today: planned again
        uow.add_override(row(3, "hold", "R3", until=date(2025, 3, 17)))
        uow.add_override(row(4, "lock", cohort_id="C2"))
        uow.add_override(row(5, "never", "R1", "C2", removed_by="u", removed_at=AT))  # removed: binds nothing
        uow.add_override(row(6, "never", "R1", "C3", region_code="SW"))       # another region's
        uow.commit()
    demands = [make_demand(referral_id=rid, crn=f"X{rid}") for rid in ("R1", "R2", "R3")]
    with store.uow() as uow:
        demands, cohorts = ov.with_overrides(uow, "RS", AS_OF, demands, [make_cohort(cohort_id="C1"),
                                                                         make_cohort(cohort_id="C2")])
    assert [[(o.override_id, o.kind) for o in d.overrides] for d in demands] == [
        [("ov-000001", K.KEEP)], [], [("ov-000003", K.HOLD)]]
    assert [[o.override_id for o in c.overrides] for c in cohorts] == [[], ["ov-000004"]]


@pytest.mark.parametrize("request_,field", [
    (ov.Request("keep", "r", referral_id="R1"), "cohort_id"),
    (ov.Request("never", "r", cohort_id="C1"), "referral_id"),
    (ov.Request("lock", "r", cohort_id="C1", until=date(2025, 4, 1)), "until"),
    (ov.Request("hold", "r", referral_id="R1", until=AS_OF), "until"),
    (ov.Request("hold", "r", referral_id="R1", until=date(2027, 4, 1)), "until"),
])
def test_a_request_without_what_its_kind_needs_names_the_field(request_, field):
    with pytest.raises(ov.Invalid) as refused:
        ov.check_shape(request_, AS_OF)
    assert refused.value.field == field


@pytest.mark.parametrize("request_,in_force,contradicts", [
    (ov.Request("never", "r", "R1", "C1"), row(1, "keep", "R1", "C1"), "says the opposite"),
    (ov.Request("keep", "r", "R1", "C2"), row(1, "keep", "R1", "C1"), "one cohort per referral"),
    (ov.Request("keep", "r", "R1", "C1"), row(1, "keep", "R1", "C1"), "already says so"),
    (ov.Request("hold", "r", "R1", until=date(2025, 4, 1)), row(1, "keep", "R1", "C1"), "kept on C1"),
    (ov.Request("keep", "r", "R2", "C1"), row(1, "lock", cohort_id="C1"), "locked"),
    (ov.Request("lock", "r", cohort_id="C1"), row(1, "keep", "R1", "C1"), "remove it before locking"),
    (ov.Request("never", "r", "R1", "C2"), row(1, "keep", "R1", "C1"), None),
    (ov.Request("hold", "r", "R2", until=date(2025, 4, 1)), row(1, "hold", "R1", until=date(2025, 4, 1)), None),
])
def test_an_override_contradicting_one_in_force_is_named(request_, in_force, contradicts):
    found = ov.contradiction(request_, in_force)
    assert (found is None) if contradicts is None else (contradicts in found and "ov-000001" in found)
