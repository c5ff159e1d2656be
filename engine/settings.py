"""Typed settings, read once at the entry points from ``COHORTPLAN_*`` environment variables."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COHORTPLAN_", frozen=True, extra="ignore")

    database_url: str = Field("sqlite:///out/cohortplan.db",
                              description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://… in production")
    region_profile: str = "default"
    deadline_margin_days: int = Field(14, ge=0, le=120)
    freeze_days: int = Field(14, ge=0, le=90)
    horizon_weeks: int = Field(52, ge=4, le=156)
    allocator: str = "current-practice"
    batch_size: int = Field(2000, ge=1, le=100_000)
    output_dir: Path = Path("out")
