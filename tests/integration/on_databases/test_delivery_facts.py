"""tests/unit/engine/test_delivery_facts.py on SQLite and PostgreSQL (see conftest.py)."""
from tests.unit.engine.test_delivery_facts import *  # noqa: F401,F403
