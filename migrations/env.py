"""Alembic environment: async, one transaction, under an advisory lock."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import SchemaItem

from db.engine import async_url
from db.models import Base

# Any fixed number: every process that migrates this database takes the same lock.
MIGRATION_LOCK_ID = 0x636F75706F6E73  # "coupons"

# procrastinate's tables, created from its own SQL (see graphql_api/background).
JOB_QUEUE_TABLES = "procrastinate_"

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    url = config.attributes.get("database_url")
    if url is None:
        from graphql_api.settings import get_settings

        url = get_settings().require_database_url()
    return str(url)


def include_object(
    object_: SchemaItem,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    """Leave the job queue's tables (migration 0006) to their own revisions: no model has them."""
    return not (type_ == "table" and name is not None and name.startswith(JOB_QUEUE_TABLES))


def run_in_connection(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=False,
        include_object=include_object,
    )
    with context.begin_transaction():
        # Replicas starting together queue here; each then sees the others' work done.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


async def run_online() -> None:
    from graphql_api.settings import get_settings

    # A database that accepts connections but never answers fails here within the connect
    # timeout, not asyncpg's own 60 s. No statement timeout: a migration may take long, and
    # waiting for another replica's migration on the advisory lock is expected.
    engine = create_async_engine(
        async_url(database_url()),
        poolclass=NullPool,
        connect_args={"timeout": get_settings().connect_timeout},
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_in_connection)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `coupons migrate`")
asyncio.run(run_online())
