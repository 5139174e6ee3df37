"""All configuration, read once from the environment."""

from __future__ import annotations

import ipaddress
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import ArgumentError

from db.engine import async_url

Role = Literal["admin", "storefront"]
ROLES: tuple[Role, ...] = ("admin", "storefront")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeSettingsError(RuntimeError):
    """The settings would run the service in a way that must not reach production."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COUPONS_", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "COUPONS_DATABASE_URL"),
        description="postgresql://user:password@host:5432/dbname; unset: an embedded "
        "PostgreSQL in COUPONS_DATA_DIR",
    )
    data_dir: Path = Field(
        default=Path(".coupons"),
        description="where the embedded PostgreSQL keeps its data, kept across restarts",
    )
    env: Literal["development", "production"] = Field(
        default="development",
        description="development or production; production hides GraphiQL, refuses "
        "introspection to non-admin keys, turns field suggestions off and needs COUPONS_API_KEYS",
    )
    api_keys: SecretStr | None = Field(
        default=None,
        description="comma-separated role:key pairs, roles admin and storefront; unset: every "
        "caller is admin",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or CIDR ranges of reverse proxies whose "
        "X-Forwarded-For is believed",
    )
    guess_limit: int = Field(
        default=10,
        ge=1,
        description="unknown-code (NOT_FOUND) answers allowed per user and per client IP in one "
        "window",
    )
    guess_window_seconds: float = Field(
        default=60.0, gt=0, description="seconds in one guessing window"
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="largest request body in bytes; larger ones get HTTP 413",
    )
    pool_size: int = Field(default=5, ge=1, description="connections kept per worker")
    max_overflow: int = Field(default=5, ge=0, description="extra connections per worker at peaks")
    hot_pool_size: int = Field(
        default=4, ge=1, description="connections per worker for lookups and redemptions"
    )
    pool_timeout: float = Field(
        default=3.0,
        gt=0,
        description="seconds a request waits for a free connection before SERVICE_UNAVAILABLE",
    )
    connect_timeout: float = Field(
        default=3.0, gt=0, description="seconds to open a database connection"
    )
    statement_timeout: float = Field(
        default=4.0, gt=0, description="seconds one statement may run before it is cancelled"
    )
    request_timeout: float = Field(
        default=4.0,
        gt=0,
        description="seconds a request's database work may take in all before it answers "
        "SERVICE_UNAVAILABLE (a database that hangs never holds an answer longer)",
    )
    expiry_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="seconds between the sweeps that write coupons past validUntil as EXPIRED",
    )
    compiled_operations: bool = Field(
        default=True,
        description="answer plain couponByCode and redeemCoupon documents without GraphQL "
        "execution (they answer exactly alike; off only to compare the two paths)",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")

    @field_validator("api_keys")
    @classmethod
    def _keys_are_role_key_pairs(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_api_keys(value.get_secret_value())
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgresql(cls, value: SecretStr | None) -> SecretStr | None:
        # The form only; whether the server answers is for `coupons migrate` / `serve` to say.
        if value is None:
            return value
        if not value.get_secret_value():
            raise ValueError("DATABASE_URL is empty; unset it to use the embedded PostgreSQL")
        try:
            async_url(value.get_secret_value())  # the engine's own idea of what will do
        except ArgumentError:
            raise ValueError(
                "DATABASE_URL is not a URL; expected postgresql://user:password@host:5432/dbname"
            ) from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set")
        return self.database_url.get_secret_value()

    @cached_property
    def keys(self) -> list[tuple[Role, str]]:
        """(role, key) pairs; empty when no keys are set and every caller is admin."""
        if self.api_keys is None:
            return []
        return parse_api_keys(self.api_keys.get_secret_value())

    @cached_property
    def proxy_networks(self) -> list[Network]:
        return parse_networks(self.trusted_proxies)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def check_safe_to_start(self) -> None:
        """Refuse production settings that would leave the API open."""
        if self.production and not self.keys:
            raise UnsafeSettingsError(
                "COUPONS_ENV=production needs COUPONS_API_KEYS: without keys every caller "
                "would be admin"
            )


def parse_api_keys(raw: str) -> list[tuple[Role, str]]:
    pairs: list[tuple[Role, str]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        role, separator, key = item.partition(":")
        if not separator or role not in ROLES or not key:
            raise ValueError(
                "COUPONS_API_KEYS holds comma-separated role:key pairs, roles admin or storefront"
            )
        if any(key == known for _, known in pairs):
            # Which role would win would depend on the order: refuse instead of guessing.
            raise ValueError("COUPONS_API_KEYS holds the same key twice")
        pairs.append((role, key))
    if not pairs:
        raise ValueError("COUPONS_API_KEYS is set but holds no keys")
    return pairs


def parse_networks(raw: str) -> list[Network]:
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()
    ]


@lru_cache
def get_settings() -> Settings:
    return Settings()
