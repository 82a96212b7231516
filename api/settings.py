"""Typed configuration, read once by the composition root (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///fundledger.db"


class Settings(BaseSettings):
    """Every setting of fundledger; environment variables are prefixed ``FUNDLEDGER_``."""

    model_config = SettingsConfigDict(env_prefix="FUNDLEDGER_", extra="forbid", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///path, postgresql://user[:password]@host[:port]/dbname, or memory://",
    )
    province_database_urls: dict[str, str] = Field(
        default_factory=dict,
        description='per-province overrides, e.g. {"440000": "postgresql://.../gd"} (JSON)',
    )
    import_chunk: int = Field(default=2_000, ge=1, le=50_000, description="postings per save")
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1,
        description="the largest HTTP request body the server reads (413 beyond it)",
    )
