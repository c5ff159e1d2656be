"""How fresh an answer must be, per request: ``Cache-Control`` in, ``Age`` out (RFC 9111 §5.2.1, §5.1).

The read model (api/read_model.py) may serve an answer about a region for ``COHORTPLAN_API_MAX_STALE_S`` seconds
after the worker's writes moved the region's marks, while it computes the answer again off the requests. A caller
that needs the state as it is now says so: ``Cache-Control: no-cache`` (or ``max-age=0``) is answered only from the
state the request found; ``max-age=N`` accepts answers at most N seconds behind (never more than the service
allows). An answer served behind carries ``Age``: how many seconds ago (rounded up) it was computed. Changes asked
for through this API (overrides, re-plans, alert actions) are never served behind, whatever the header.
"""
from __future__ import annotations

import math

from api.read_model import ASKING, Asking


def max_stale_of(cache_control: str) -> float | None:
    """The seconds behind a request's ``Cache-Control`` accepts (None: it says nothing about it). Directives this
    service has no use for, and malformed ones, are ignored, as a cache ignores them."""
    allowed: float | None = None
    for directive in cache_control.lower().split(","):
        name, _, value = (part.strip() for part in directive.partition("="))
        if name == "no-cache":
            return 0.0
        if name == "max-age" and value.isdigit() and len(value) <= 9:
            allowed = float(value) if allowed is None else min(allowed, float(value))
    return allowed


def age_header(asking: Asking) -> str | None:
    """The ``Age`` header's value (whole seconds, rounded up), if an answer was served behind the region's marks."""
    return str(math.ceil(asking.age_s)) if asking.age_s > 0 else None


class Freshness:
    """A plain ASGI middleware: the request's terms with the read model (from ``Cache-Control``) for the route to
    find, and ``Age`` on the answer when one was served behind the region's marks."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        said = b", ".join(value for name, value in scope["headers"] if name == b"cache-control")
        asking = Asking(max_stale_of(said.decode("latin-1")) if said else None)
        token = ASKING.set(asking)  # the routes' threads run in copies of this context: the same object

        async def sending(message) -> None:
            if message["type"] == "http.response.start" and (age := age_header(asking)) is not None:
                message = {**message, "headers": [*message.get("headers", []), (b"age", age.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ASKING.reset(token)
