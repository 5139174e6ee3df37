"""Engine and sessionmaker factories."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def async_url(database_url: str) -> URL:
    """The asyncpg form of a `postgresql://` URL (also accepts `postgres://`)."""
    url = make_url(database_url)
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    return url.set(drivername="postgresql+asyncpg")


def create_engine(
    database_url: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 5,
    pool_timeout: float = 3.0,
    connect_timeout: float = 3.0,
    statement_timeout: float = 4.0,
) -> AsyncEngine:
    """An engine that fails fast when the database does not answer, and heals by itself.

    Every statement is its own transaction (AUTOCOMMIT): no service needs more than one
    statement, and work that must be atomic lives in one statement or SQL function. That
    saves the BEGIN and COMMIT round trips, and a row lock taken by a statement is
    released as soon as the statement ends instead of when the client gets round to it.

    Each checkout pings the connection, so connections the server dropped (a restart,
    pg_terminate_backend) are replaced instead of failing a request.
    """
    return create_async_engine(
        async_url(database_url),
        isolation_level="AUTOCOMMIT",
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={
            "timeout": connect_timeout,
            "command_timeout": statement_timeout,
            "server_settings": {"application_name": "coupons", "timezone": "UTC"},
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
