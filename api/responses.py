"""JSON answers serialised once, by pydantic, from the response model the route built (and validated).

FastAPI would dump a returned model to a dict, validate that dict against the route's ``response_model`` again,
encode it and ``json.dumps`` it; a route that has already built its answer from validated models hands the
bytes over directly. The document is unchanged: the route still declares its ``response_model``.

A page of a kept list (the waiting list, the alerts: api/read_model.py) shows models that are the same for every
caller who may see them: each is serialised once, the first time a page shows it (:class:`Serialised`), and a
page is its own fields with those bytes spliced in (:func:`page_response`), the bytes pydantic writes for the
whole page.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from fastapi import Response
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
EMPTY_ITEMS = b'{"items":[]'  # how every page model's JSON begins when it holds no items


def json_response(answer: BaseModel | bytes, status_code: int = 200) -> Response:
    """``answer`` as ``application/json``, as FastAPI would have written it (compact, UTF-8); ``bytes``: an answer
    serialised before (once for every caller it is shown to whole)."""
    body = answer if isinstance(answer, bytes) else answer.model_dump_json()
    return Response(body, status_code=status_code, media_type="application/json")


def json_of(model: BaseModel) -> bytes:
    """``model`` as pydantic writes it (compact, UTF-8), as bytes."""
    return model.__pydantic_serializer__.to_json(model)


class Serialised(Generic[M]):
    """A model kept in the read model and its JSON, made the first time a page shows it (no lock: two threads may
    both make it, the same bytes either way)."""

    __slots__ = ("model", "_json")

    def __init__(self, model: M) -> None:
        self.model: M = model
        self._json: bytes | None = None

    @property
    def json(self) -> bytes:
        if self._json is None:
            self._json = json_of(self.model)
        return self._json

    def __getstate__(self) -> tuple[M, bytes]:
        return self.model, self.json  # what comes from the read helper carries its JSON (api/helper.py)

    def __setstate__(self, state: tuple[M, bytes]) -> None:
        self.model, self._json = state


def page_response(page: BaseModel, items: Sequence[bytes]) -> Response:
    """``page``, a page model built with no items (its other fields validated as ever), answered with ``items``
    (each an item's JSON, :func:`json_of`) where pydantic writes them: every page model's first field."""
    body = json_of(page)
    if not body.startswith(EMPTY_ITEMS):
        raise TypeError(f"{type(page).__name__} must be built with no items, its first field")
    return Response(b'{"items":[' + b",".join(items) + b"]" + body[len(EMPTY_ITEMS):], media_type="application/json")
