"""Alert sink settings: which sinks run and how hard they retry, from ``COHORTPLAN_ALERT_*`` variables."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SeverityName = Literal["INFO", "WARNING", "CRITICAL"]


class AlertSinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COHORTPLAN_ALERT_", frozen=True, extra="ignore")

    jsonl_path: Path | None = Field(Path("out/alerts.jsonl"), description="append-only alert log; empty turns it off")
    webhook_url: str | None = Field(None, description="POST each alert here as JSON (http/https)")
    webhook_timeout_s: float = Field(5.0, gt=0, le=300)
    webhook_headers: dict[str, str] = Field(default_factory=dict, repr=False,
                                            description="extra request headers as a JSON object, e.g. Authorization")
    smtp_host: str | None = Field(None, description="email alerts only when set")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_from: str | None = None
    smtp_to: Annotated[tuple[str, ...], NoDecode] = Field((), description="recipients: JSON list or comma-separated")
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = Field(None, description="set it in the environment, never in a file")
    smtp_timeout_s: float = Field(10.0, gt=0, le=300)
    email_min_severity: SeverityName = "WARNING"
    retry_attempts: int = Field(5, ge=1, le=20, description="attempts per alert, the first one included")
    backoff_initial_s: float = Field(0.5, ge=0, le=60)
    backoff_max_s: float = Field(30.0, ge=0, le=600)
    reader_batch: int = Field(50, ge=1, le=10_000, description="outbox rows a sink's reader takes per round")
    reader_interval_s: float = Field(1.0, gt=0, le=600, description="how often a following reader looks again")

    @field_validator("jsonl_path", "webhook_url", "smtp_host", "smtp_from", "smtp_username", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("smtp_to", mode="before")
    @classmethod
    def _recipients(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        return tuple(v.strip() for v in value if v.strip())

    @field_validator("webhook_url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("webhook_url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AlertSinkSettings:
        if self.smtp_host and not (self.smtp_from and self.smtp_to):
            raise ValueError("smtp_host needs smtp_from and smtp_to")
        if self.smtp_username and (self.smtp_password is None or not self.smtp_starttls):
            raise ValueError("smtp_username needs smtp_password and smtp_starttls (no credentials in clear)")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be at least backoff_initial_s")
        return self
