"""tests/unit/engine/test_status_order.py on SQLite and PostgreSQL: status changes out of order and late producers
(the status log lives in the engine state, which the SQL unit of work prefetches per batch)."""
from tests.unit.engine.test_status_order import *  # noqa: F401,F403
