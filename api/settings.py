"""API settings, read from ``COHORTPLAN_API_*`` environment variables (like :mod:`engine.settings`).

There is deliberately no setting that turns on local development tokens: only ``cohortplan serve
--dev-auth`` does, and an unknown ``COHORTPLAN_API_*`` variable (``COHORTPLAN_API_DEV_AUTH`` included) is
refused at start, so a misspelt or hopeful configuration fails loudly instead of weakening auth.
"""
from __future__ import annotations

import os

from pydantic import AnyHttpUrl, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.read_model import MAX_STALE_S


PREFIX = "COHORTPLAN_API_"


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="forbid", env_ignore_empty=True)

    issuer: str | None = Field(None, max_length=500, description="the token issuer (``iss``) accepted")
    audience: str = Field("cohortplan-api", min_length=1, max_length=200,
                          description="the audience (``aud``) a token must be for")
    jwks_url: AnyHttpUrl | None = Field(None, description="the issuer's JSON Web Key Set")
    algorithms: tuple[str, ...] = Field(("RS256",), min_length=1, description="signature algorithms accepted")
    leeway_s: int = Field(30, ge=0, le=300, description="clock skew allowed on exp/nbf/iat, seconds")
    jwks_cache_s: int = Field(300, ge=0, le=86_400, description="how long fetched keys are reused, seconds")
    jwks_timeout_s: float = Field(5.0, gt=0, le=60, description="seconds to wait for the JWKS endpoint")
    roles_claim: str = Field("roles", min_length=1, max_length=100, description="claim holding the roles")
    regions_claim: str = Field("regions", min_length=1, max_length=100,
                               description="claim holding the region codes the token may see")
    max_stale_s: float = Field(MAX_STALE_S, ge=0, le=60, allow_inf_nan=False,
                               description="seconds an answer about a region may be served behind the worker's "
                                           "writes while it is computed again (0: never; api/read_model.py)")
    read_helper: bool = Field(True, description="compute the kept answers again in a process of each server "
                                                "process's own, not in its interpreter (api/helper.py)")

    @model_validator(mode="after")
    def _no_unknown_variables(self) -> "ApiSettings":
        """pydantic-settings ignores environment variables that name no field; here they are refused, so
        ``COHORTPLAN_API_DEV_AUTH`` (or a misspelt setting) stops the service instead of doing nothing."""
        known = {PREFIX + name.upper() for name in type(self).model_fields}
        unknown = sorted(name for name in os.environ if name.upper().startswith(PREFIX) and name.upper() not in known)
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))} "
                             "(local dev tokens are only ever enabled by `cohortplan serve --dev-auth`)")
        return self
