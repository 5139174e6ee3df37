"""All configuration, read once from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COUPONS_", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "COUPONS_DATABASE_URL"),
        description="postgresql:// URL; unset: an embedded server in data_dir",
    )
    data_dir: Path = Field(default=Path(".coupons"), description="embedded PostgreSQL's home")
    env: Literal["development", "production"] = "development"
    pool_size: int = Field(default=5, ge=1, description="connections kept per worker")
    max_overflow: int = Field(default=5, ge=0, description="extra connections per worker at peaks")
    pool_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for a connection")
    expiry_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how often ACTIVE coupons past validUntil are marked EXPIRED",
    )
    log_level: str = "INFO"

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set")
        return self.database_url.get_secret_value()


@lru_cache
def get_settings() -> Settings:
    return Settings()
