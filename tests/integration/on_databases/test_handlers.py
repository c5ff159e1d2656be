"""tests/unit/engine/test_handlers.py on SQLite and PostgreSQL (see conftest.py)."""
from tests.unit.engine.test_handlers import *  # noqa: F401,F403
