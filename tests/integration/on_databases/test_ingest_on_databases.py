"""Ingest unit tests that ran on both SQL stores before the unit layer moved to memory: broker offsets stored
with the state, parked-event expiry, conflicting duplicates (see conftest.py)."""
from tests.unit.engine.test_conflicting_duplicates import (  # noqa: F401
    test_conflicting_duplicate_is_dead_lettered_with_both_payloads)
from tests.unit.engine.test_ingest_positions import (  # noqa: F401
    test_a_redelivered_message_is_recognised_by_its_offset_even_without_an_event_id,
    test_partitions_keep_their_own_offsets)
from tests.unit.engine.test_parked_expiry import test_parked_event_expires_into_a_dead_letter_with_its_reason  # noqa: F401
