"""JSON answers serialised once, by pydantic, from the response model the route built (and validated).

FastAPI would dump a returned model to a dict, validate that dict against the route's ``response_model`` again,
encode it and ``json.dumps`` it; a route that has already built its answer from validated models hands the
bytes over directly. The document is unchanged: the route still declares its ``response_model``.
"""
from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(answer: BaseModel | bytes, status_code: int = 200) -> Response:
    """``answer`` as ``application/json``, as FastAPI would have written it (compact, UTF-8); ``bytes``: an answer
    serialised before (once for every caller it is shown to whole)."""
    body = answer if isinstance(answer, bytes) else answer.model_dump_json()
    return Response(body, status_code=status_code, media_type="application/json")
