"""The HTTP API: a FastAPI app over the engine's unit of work and read side (see docs/api.md).

Modules: :mod:`api.app` (the app factory), :mod:`api.settings` (``COHORTPLAN_API_*``), :mod:`api.auth`
(bearer JWTs, roles, regions), :mod:`api.devauth` (local tokens for ``--dev-auth``), :mod:`api.problems`
(RFC 9457 errors), :mod:`api.models` (response and query models), :mod:`api.reads` (what the routes read),
:mod:`api.metrics` (Prometheus), :mod:`api.routes` (one module per resource), :mod:`api.cli` (``serve``,
``token``), :mod:`api.openapi` (the committed OpenAPI document).
"""
