"""The engine, and the kinds of session the service uses, named for what they are."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
    application_name: str = "coupons",
) -> AsyncEngine:
    """An engine that fails fast when the database does not answer, and heals by itself.

    Each checkout pings the connection, so connections the server dropped (a restart,
    pg_terminate_backend) are replaced instead of failing a request. Sessions come from
    `Database`, never from the engine directly.
    """
    return create_async_engine(
        async_url(database_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        # A statement's parameters (a webhook secret, a user's id) never reach an exception's
        # text, and so never a log line.
        hide_parameters=True,
        connect_args={
            "timeout": connect_timeout,
            "command_timeout": statement_timeout,
            "server_settings": {"application_name": application_name, "timezone": "UTC"},
        },
    )


class Database:
    """The ways to the database, one pool, and no way to mistake one for another.

    `single_statement()` runs in autocommit: each statement is its own transaction. It is
    for reads and for a write that is one statement (or one call of a database function):
    no BEGIN and COMMIT round trips, and a row lock lasts as long as the statement and no
    longer. `transaction()` is a real transaction: everything inside commits together or
    not at all (a code generation batch with its progress, a campaign with its job).
    `snapshot()` is a read-only transaction that sees one moment of the database however
    long it reads (an export), and can write nothing.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._autocommit = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self._transactional = async_sessionmaker(engine, expire_on_commit=False)
        self._snapshot = async_sessionmaker(
            engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True),
            expire_on_commit=False,
        )

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[AsyncSession]:
        """A session whose every statement commits by itself."""
        async with self._autocommit() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside BEGIN ... COMMIT; an exception rolls all of it back."""
        async with self._transactional.begin() as session:
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A session inside BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY: every statement
        sees the rows as they were at its first, and a write is refused."""
        async with self._snapshot.begin() as session:
            yield session
