"""The OpenAPI 3.1 document of the API, as committed in docs/openapi.json.

Regenerate it after changing a route or model: ``.venv/bin/python -m api.openapi > docs/openapi.json``
(tests/api/test_openapi.py fails while the two differ).
"""
from __future__ import annotations

import json
from typing import Any

from api.app import build_app


def document() -> dict[str, Any]:
    return build_app().openapi()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
