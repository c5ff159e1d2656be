"""The OpenAPI 3.1 document the app serves is the one committed in docs/openapi.json."""
from __future__ import annotations

import json
from pathlib import Path

from api.openapi import document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = ".venv/bin/python -m api.openapi > docs/openapi.json"


def test_the_served_document_is_the_committed_one(client):
    served = client.get("/openapi.json").json()
    assert served == document()
    assert served == json.loads(COMMITTED.read_text()), f"docs/openapi.json is out of date: run {REGENERATE}"


def test_it_is_openapi_3_1_and_every_protected_operation_says_how_it_fails():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)
                assert "application/problem+json" in operation["responses"]["401"]["content"], (method, path)
