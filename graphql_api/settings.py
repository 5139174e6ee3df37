"""All configuration, read once from the environment."""

from __future__ import annotations

import ipaddress
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import ArgumentError

from db.engine import async_url
from graphql_api.background.periods import PERIODS, cron_every
from graphql_api.domain.webhooks import DEFAULT_RETRY_SECONDS, WebhookPolicy
from graphql_api.persisted_manifest import ManifestError, PersistedDocuments, load_manifest

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
    expiry_sweep_seconds: int = Field(
        default=60,
        description="seconds between the background sweeps that write coupons past validUntil as "
        f"EXPIRED; {PERIODS}",
    )
    guess_sweep_seconds: int = Field(
        default=60,
        description="seconds between the background sweeps that delete guessing windows that "
        f"have run out; {PERIODS}",
    )
    reservation_sweep_seconds: int = Field(
        default=10,
        description="seconds between the background sweeps that write holds past expiresAt as "
        f"EXPIRED (they stop counting at expiresAt whether or not this has run); {PERIODS}",
    )
    generation_pickup_seconds: int = Field(
        default=1,
        description="seconds between background workers' looks for code generation jobs to "
        f"start or take up again; {PERIODS}",
    )
    background_sweeps: bool = Field(
        default=True,
        description="run the periodic sweeps (expired coupons and holds, guessing windows, "
        "finished queue jobs) on this worker; false for a worker that only runs jobs",
    )
    background_worker: bool = Field(
        default=True,
        description="run a background worker beside `coupons serve`; false where `coupons "
        "worker` runs elsewhere (any number of workers may run: each job runs once)",
    )
    background_concurrency: int = Field(
        default=4, ge=1, description="jobs one background worker runs at once"
    )
    background_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="seconds between a background worker's looks for queued jobs and abort "
        "requests",
    )
    background_listen_notify: bool = Field(
        default=False,
        description="also wake background workers with LISTEN/NOTIFY when a job is queued; "
        "needs a direct connection to PostgreSQL, not a transaction-mode pooler",
    )
    background_heartbeat_seconds: float = Field(
        default=10.0, gt=0, description="seconds between a background worker's heartbeats"
    )
    background_stalled_seconds: float = Field(
        default=30.0,
        gt=0,
        description="seconds without a heartbeat after which a background worker is taken for "
        "dead and the jobs it was running are run again; more than twice the heartbeat",
    )
    background_shutdown_seconds: float = Field(
        default=25.0,
        ge=0,
        description="seconds a stopping background worker lets running jobs finish; then they "
        "are aborted, and run again if their task retries",
    )
    compiled_operations: bool = Field(
        default=True,
        description="answer plain couponByCode and redeemCoupon documents without GraphQL "
        "execution (they answer exactly alike; off only to compare the two paths)",
    )
    automatic_persisted_queries: bool = Field(
        default=True,
        description="accept Apollo's automatic persisted queries: a client sends a document's "
        "SHA256 hash and, when this worker does not know it (PERSISTED_QUERY_NOT_FOUND), the "
        "document once; each worker keeps the last 1000 documents (8 Mi characters) it was "
        "sent. Not with COUPONS_PERSISTED_OPERATIONS_ONLY",
    )
    persisted_operations: Path | None = Field(
        default=None,
        description="the file of persisted operations a frontend build writes (Apollo's "
        "persisted query manifest, or graphql codegen's persisted documents), checked at start: "
        "clients may send its documents by id",
    )
    persisted_operations_only: bool = Field(
        default=False,
        description="run only the documents of COUPONS_PERSISTED_OPERATIONS (an allow list), "
        "sent by id or as their text; a request with an admin key may still send any document",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="let webhook endpoints be on loopback, private, link-local or cloud "
        "metadata addresses (refused otherwise, also when a host name resolves to one); "
        "for receivers on your own network",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="seconds one webhook attempt may take, connecting to the last byte; "
        "longer counts as a failed attempt",
    )
    webhook_retry_seconds: str = Field(
        default=",".join(f"{seconds:g}" for seconds in DEFAULT_RETRY_SECONDS),
        description="comma-separated seconds to wait after each failed webhook attempt "
        "before the next; after the last, the delivery is FAILED. The default is Standard "
        "Webhooks' schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: over 27 hours)",
    )
    event_retention_days: int = Field(
        default=30,
        ge=1,
        description="days events are kept (for the feed and the deliveries' history); older "
        "ones that no webhook delivery still waits on are deleted by the hourly sweep",
    )
    tracing: bool = Field(
        default=False,
        description="send OpenTelemetry traces of requests, GraphQL operations, resolvers and "
        "SQL statements over OTLP/HTTP, where the standard OTEL_* variables say "
        "(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, ...); off, "
        "nothing of OpenTelemetry is loaded",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    _persisted_documents: PersistedDocuments | None = PrivateAttr(default=None)

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

    @field_validator("webhook_retry_seconds")
    @classmethod
    def _retries_are_seconds(cls, value: str) -> str:
        parse_retry_seconds(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator(
        "expiry_sweep_seconds",
        "guess_sweep_seconds",
        "reservation_sweep_seconds",
        "generation_pickup_seconds",
    )
    @classmethod
    def _period_the_clock_divides(cls, value: int) -> int:
        cron_every(value)  # every replica must agree on when a period starts
        return value

    @field_validator("tracing")
    @classmethod
    def _otel_environment_workable(cls, value: bool) -> bool:
        if value:
            # Imported only when on: off, nothing of OpenTelemetry is loaded.
            from graphql_api.tracing import environment_problem

            problem = environment_problem()
            if problem is not None:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _stalled_after_missed_heartbeats(self) -> Settings:
        # One late heartbeat (a slow database) must not get a live worker's jobs run twice.
        if self.background_stalled_seconds <= 2 * self.background_heartbeat_seconds:
            raise ValueError(
                "COUPONS_BACKGROUND_STALLED_SECONDS must be more than twice "
                "COUPONS_BACKGROUND_HEARTBEAT_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _persisted_operations_load(self) -> Settings:
        # Read once, here: a manifest that will not do stops the service before it serves.
        if self.persisted_operations_only and self.persisted_operations is None:
            raise ValueError(
                "COUPONS_PERSISTED_OPERATIONS_ONLY needs COUPONS_PERSISTED_OPERATIONS: the "
                "manifest of the operations to allow"
            )
        if self.persisted_operations is not None:
            try:
                self._persisted_documents = load_manifest(self.persisted_operations)
            except ManifestError as error:
                raise ValueError(f"COUPONS_PERSISTED_OPERATIONS: {error}") from None
        return self

    @property
    def persisted_documents(self) -> PersistedDocuments | None:
        """The documents of COUPONS_PERSISTED_OPERATIONS, or None when it is unset."""
        return self._persisted_documents

    @cached_property
    def webhook_policy(self) -> WebhookPolicy:
        return WebhookPolicy(
            allow_private=self.webhook_allow_private,
            timeout=self.webhook_timeout_seconds,
            retry_seconds=parse_retry_seconds(self.webhook_retry_seconds),
        )

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


def parse_retry_seconds(raw: str) -> tuple[float, ...]:
    """COUPONS_WEBHOOK_RETRY_SECONDS: one to 20 delays, each 0.1 s to 2 days."""
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ValueError("COUPONS_WEBHOOK_RETRY_SECONDS holds comma-separated seconds") from None
    if not 1 <= len(delays) <= 20 or not all(0.1 <= delay <= 172_800 for delay in delays):
        raise ValueError(
            "COUPONS_WEBHOOK_RETRY_SECONDS holds 1 to 20 delays of 0.1 to 172800 seconds"
        )
    return delays


@lru_cache
def get_settings() -> Settings:
    return Settings()
