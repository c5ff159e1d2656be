"""Re-plans wait for a quiet period, never longer than the maximum delay, and never run twice at once."""
from streams.debounce import Debouncer


def test_a_region_is_due_after_the_quiet_period_and_not_before():
    d = Debouncer(quiet_s=5, max_delay_s=60)
    d.note("RS", 0.0)
    d.note("RS", 3.0)
    assert d.due(7.9) == []
    assert d.due(8.0) == ["RS"]
    assert d.due(100.0) == []  # taken: not due again until noted again


def test_a_steady_stream_of_changes_is_planned_at_the_maximum_delay():
    d = Debouncer(quiet_s=5, max_delay_s=20)
    for t in range(0, 20):
        d.note("RS", float(t))
        assert d.due(float(t)) == []
    d.note("RS", 20.0)
    assert d.due(20.0) == ["RS"]


def test_a_running_region_is_not_started_again_until_done():
    d = Debouncer(quiet_s=1, max_delay_s=10)
    d.note("RS", 0.0)
    assert d.due(2.0) == ["RS"] and d.running == ["RS"]
    d.note("RS", 2.5)
    assert d.due(10.0) == []
    d.done("RS")
    assert d.due(10.0) == ["RS"]


def test_forgetting_a_region_drops_what_was_pending():
    d = Debouncer(quiet_s=1, max_delay_s=10)
    d.note("RS", 0.0)
    d.note("RN", 0.0)
    d.forget("RS")
    assert d.pending == ["RN"] and d.due(5.0) == ["RN"]
