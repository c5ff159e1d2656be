"""tests/unit/engine/test_safety_rules.py on SQLite and PostgreSQL (see conftest.py)."""
from tests.unit.engine.test_safety_rules import *  # noqa: F401,F403
