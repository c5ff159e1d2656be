"""tests/unit/engine/test_limited_access.py on SQLite and PostgreSQL (see conftest.py)."""
from tests.unit.engine.test_limited_access import *  # noqa: F401,F403
