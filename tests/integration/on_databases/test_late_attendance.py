"""tests/unit/engine/test_late_attendance.py on SQLite and PostgreSQL (see conftest.py)."""
from tests.unit.engine.test_late_attendance import *  # noqa: F401,F403
